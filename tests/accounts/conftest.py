"""Account fixtures: Ada with 2FA on."""

import pytest

from tests.helpers import SITE
from twostep.accounts.models import User
from twostep.mfa.models import TOTPDevice


@pytest.fixture
def ada_2fa(user: User, device: TOTPDevice) -> User:
    """Ada with an active authenticator (SECRET), time frozen at NOW."""
    return user


@pytest.fixture(autouse=True)
def site_url(settings):
    """Mailed links are built on TWOSTEP_SITE_URL, whatever host the request came to."""
    settings.TWOSTEP_SITE_URL = SITE
