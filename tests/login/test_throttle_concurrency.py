"""Guesses sent in parallel get no more tries than guesses sent one after another: the
password step checks and counts an attempt under one row lock, before hashing."""

import pytest
from django.test import Client, RequestFactory

from tests.concurrency import at_once
from tests.helpers import CHEAP_HASHER, log_in
from twostep.accounts import devices
from twostep.accounts.models import LoginThrottle
from twostep.login import password

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 12


@pytest.fixture
def cheap_hasher(settings):
    settings.PASSWORD_HASHERS = [CHEAP_HASHER]


def burst(user, make_request) -> list[str]:
    """BURST wrong guesses for `user` at once, the n-th sent as `make_request(n)`: what each
    was told ("wrong" or "wait")."""
    requests = [make_request(n) for n in range(BURST)]

    def guess(n: int):
        return lambda: password.check_password(
            request=requests[n], email=user.email, password=f"guess {n}"
        )

    errors = at_once(*[guess(n) for n in range(BURST)]).errors
    refused = [error for error in errors if isinstance(error, password.LoginRefused)]
    assert refused == errors, errors
    return ["wait" if "Try again" in error.message else "wrong" for error in refused]


def test_a_burst_of_wrong_passwords_gets_only_the_free_tries(user, frozen, cheap_hasher):
    # Each from its own address, so only the account's throttle can stop them.
    outcomes = burst(
        user, lambda n: RequestFactory().post("/login/", REMOTE_ADDR=f"198.51.100.{n + 1}")
    )

    assert len(outcomes) == BURST
    # The free tries are checked against the password; every other guess waits.
    assert outcomes.count("wrong") == password.ACCOUNT_FREE
    assert outcomes.count("wait") == BURST - password.ACCOUNT_FREE
    assert LoginThrottle.objects.get(key=f"account:{user.email}").failure_count == (
        password.ACCOUNT_FREE
    )


def test_a_burst_from_many_trusted_browsers_gets_the_free_tries_of_one(user, frozen, cheap_hasher):
    cookies = []
    for _ in range(4):  # browsers that completed a login, e.g. cookies someone saved
        browser = Client()
        log_in(browser, user)
        cookies.append(browser.cookies[devices.COOKIE_NAME].value)

    def from_a_trusted_browser(n: int):
        request = RequestFactory().post("/login/", REMOTE_ADDR=f"198.51.100.{n + 1}")
        request.COOKIES[devices.COOKIE_NAME] = cookies[n % len(cookies)]
        return request

    outcomes = burst(user, from_a_trusted_browser)

    assert len(outcomes) == BURST
    assert outcomes.count("wrong") == password.ACCOUNT_FREE
    assert LoginThrottle.objects.get(key=devices.total_key(user.pk)).failure_count == (
        password.ACCOUNT_FREE
    )
