"""Account fixtures: Ada with 2FA on."""

import pytest


@pytest.fixture
def ada_2fa(user, device):
    """Ada with an active authenticator (SECRET), time frozen at NOW."""
    return user
