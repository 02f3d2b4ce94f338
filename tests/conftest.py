"""Shared factories: real users in the real database, a fixed secret, frozen time."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.utils import timezone

from twostep.accounts.models import User
from twostep.mfa import crypto, totp
from twostep.mfa.models import TOTPDevice
from twostep.organizations.models import Membership, Organization

PASSWORD = "correct horse battery staple"
# RFC 6238 Appendix B's SHA1 secret: known codes at known times.
SECRET = b"12345678901234567890"
# A fixed instant in the middle of a 30-second step (step 59_000_000).
NOW = datetime.fromtimestamp(59_000_000 * 30 + 15, tz=UTC)


@pytest.fixture
def make_user(db):
    def make(email="ada@example.com", full_name="Ada Lovelace", password=PASSWORD, **fields):
        return User.objects.create_user(email, password, full_name=full_name, **fields)

    return make


@pytest.fixture
def user(make_user):
    return make_user()


def enable_2fa(user, secret: bytes = SECRET) -> TOTPDevice:
    """Give `user` an active authenticator holding `secret`."""
    return TOTPDevice.objects.create(
        user=user,
        encrypted_secret=crypto.encrypt(secret),
        confirmed_at=timezone.now(),
        created_at=timezone.now(),
    )


def code_for(secret: bytes = SECRET, when: datetime | None = None, *, steps: int = 0) -> str:
    """The code an authenticator app shows at `when` (default: now) shifted by `steps`."""
    moment = (when or timezone.now()).timestamp() + steps * totp.PERIOD
    return totp.code_at(secret, moment)


@pytest.fixture
def frozen(time_machine):
    """Time stopped at NOW; move it with frozen.shift(seconds)."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


def add_membership(user, org_name: str, role: str = "member") -> Membership:
    org, _ = Organization.objects.get_or_create(name=org_name)
    return Membership.objects.create(user=user, organization=org, role=role)


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` (faults only PostgreSQL can stage, such as a terminated
    backend) run only on PostgreSQL. On SQLite they are deselected, not skipped: `make test`
    then runs them in a second pass against PostgreSQL, so every test runs somewhere."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    kept = [item for item in items if item.get_closest_marker("postgres") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


# Real worker processes and an SMTP listener for fault tests: `listener`, `workers`.
pytest_plugins = ["tests.workers"]


def at_once(*calls: Callable[[], object]) -> list[BaseException]:
    """Run each call in its own thread (and connection), all released together; returns
    what they raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            call()
        except BaseException as error:  # reported to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return errors
