"""Login fixtures: Ada with 2FA on."""

import pytest

from twostep.accounts.models import User
from twostep.mfa.models import TOTPDevice


@pytest.fixture
def ada_2fa(user: User, device: TOTPDevice) -> User:
    """Ada with an active authenticator (SECRET), time frozen at NOW."""
    return user
