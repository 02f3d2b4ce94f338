"""Behind a reverse proxy the owner's warning emails name the client's address (the one
TWOSTEP_TRUSTED_PROXIES says to trust), not the proxy's."""

import pytest
from django.test import Client

from tests.helpers import code_for, submit_code, submit_password
from tests.mfa.conftest import emails, wrong_code
from twostep.mfa.models import FREE_FAILURES

PROXY, CLIENT = "10.0.0.1", "203.0.113.7"


@pytest.fixture
def behind_proxy(settings):
    settings.TWOSTEP_TRUSTED_PROXIES = 1
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)


def test_the_wrong_codes_email_names_the_client_address(behind_proxy, device, user, frozen):
    submit_password(behind_proxy)
    for _ in range(FREE_FAILURES):
        submit_code(behind_proxy, wrong_code())

    (email,) = emails(user, "Someone may know your password")
    assert f"from IP address {CLIENT}" in email.body
    assert PROXY not in email.body


def test_the_code_reuse_email_names_the_client_address(behind_proxy, device, user, frozen):
    owner = Client(REMOTE_ADDR="198.51.100.9")
    submit_password(owner)
    submit_code(owner, code_for())
    submit_password(behind_proxy)
    submit_code(behind_proxy, code_for())

    (email,) = emails(user, "A used login code was tried again on your account")
    assert CLIENT in email.body
    assert PROXY not in email.body
