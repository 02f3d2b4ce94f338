"""Account fixtures: a client in the half-logged-in state, Ada with 2FA on."""

import pytest
from django.urls import reverse

from tests.accounts.factories import make_user  # noqa: F401 - overrides the shared one
from tests.accounts.login_steps import submit_password
from tests.conftest import enable_2fa


@pytest.fixture
def ada_2fa(user, frozen):
    """Ada with an active authenticator (SECRET), time frozen at NOW."""
    enable_2fa(user)
    return user


@pytest.fixture
def pending_client(client, ada_2fa):
    """A client that gave Ada's right password and has not entered a code yet."""
    response = submit_password(client, ada_2fa.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa:login_code")
    assert "_auth_user_id" not in client.session
    return client
