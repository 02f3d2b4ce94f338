"""Guesses sent in parallel get no more tries than guesses sent one after another: the
password step checks and counts an attempt under one row lock, before hashing."""

import threading

import pytest
from django.db import connection
from django.test import RequestFactory

from tests.accounts.test_login import CheapArgon2PasswordHasher
from twostep.accounts import services
from twostep.accounts.models import LoginThrottle

pytestmark = pytest.mark.django_db(transaction=True)

BURST = 12


@pytest.fixture
def cheap_hasher(settings):
    settings.PASSWORD_HASHERS = [
        f"{CheapArgon2PasswordHasher.__module__}.{CheapArgon2PasswordHasher.__name__}"
    ]


def test_a_burst_of_wrong_passwords_gets_only_the_free_tries(user, frozen, cheap_hasher):
    barrier = threading.Barrier(BURST)
    outcomes: list[str] = []
    lock = threading.Lock()

    def guess(n: int) -> None:
        # Each from its own address, so only the account's throttle can stop them.
        request = RequestFactory().post("/login/", REMOTE_ADDR=f"198.51.100.{n + 1}")
        try:
            barrier.wait(timeout=30)
            services.check_password(request=request, email=user.email, password=f"guess {n}")
        except services.LoginRefused as refused:
            with lock:
                outcomes.append("wait" if "Try again" in refused.message else "wrong")
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(outcomes) == BURST
    # The free tries are checked against the password; every other guess waits.
    assert outcomes.count("wrong") == services.ACCOUNT_FREE
    assert outcomes.count("wait") == BURST - services.ACCOUNT_FREE
    assert LoginThrottle.objects.get(key=f"account:{user.email}").failure_count == (
        services.ACCOUNT_FREE
    )
