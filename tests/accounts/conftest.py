"""Account fixtures: mailed links on TWOSTEP_SITE_URL."""

import pytest

from tests.helpers import SITE, enable_2fa
from twostep.accounts.models import User


@pytest.fixture(autouse=True)
def site_url(settings):
    """Mailed links are built on TWOSTEP_SITE_URL, whatever host the request came to."""
    settings.TWOSTEP_SITE_URL = SITE


@pytest.fixture
def sam(make_user, frozen) -> User:
    """A support agent with 2FA who may use the admin."""
    staff = make_user("sam@example.com", "Sam Support", is_staff=True, is_superuser=True)
    enable_2fa(staff)
    return staff
