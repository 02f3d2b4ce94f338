"""Shared fixtures: real users in the real database, a fixed secret, frozen time, and a
client half-way through logging in. Plain helpers live in tests/helpers.py."""

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers import (
    DJANGO_MIDDLEWARE,
    FAST_MIDDLEWARE,
    NOW,
    create_user,
    enable_2fa,
    submit_password,
)
from twostep.accounts.models import User
from twostep.mfa.models import TOTPDevice


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    """`create_user`: Ada by default, her password hashed once per run."""
    return create_user


@pytest.fixture
def user(make_user) -> User:
    return make_user()


@pytest.fixture
def frozen(time_machine):
    """Time stopped at NOW; move it with frozen.shift(seconds)."""
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def device(user, frozen) -> TOTPDevice:
    """Ada's active authenticator holding SECRET, time frozen at NOW."""
    return enable_2fa(user)


@pytest.fixture
def ada_2fa(user: User, device: TOTPDevice) -> User:
    """Ada with an active authenticator (SECRET), time frozen at NOW."""
    return user


@pytest.fixture
def pending_client(client, device) -> Client:
    """A client that gave Ada's right password and has not entered a code yet."""
    response = submit_password(client, device.user.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("login:code")
    assert "_auth_user_id" not in client.session
    return client


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


def _sessions(settings, engine: str, middleware: str) -> None:
    settings.SESSION_ENGINE = engine
    settings.MIDDLEWARE = [
        middleware if name in (FAST_MIDDLEWARE, DJANGO_MIDDLEWARE) else name
        for name in settings.MIDDLEWARE
    ]


@pytest.fixture
def fast_sessions(settings) -> None:
    """The session fast path on (TWOSTEP_FAST_SESSIONS=1), whatever the environment says:
    for tests that count its statements. List it first, before any client fixture."""
    _sessions(settings, "twostep.accounts.session_engine", FAST_MIDDLEWARE)


@pytest.fixture
def django_sessions(settings) -> None:
    """TWOSTEP_FAST_SESSIONS=0: Django's database sessions and authentication middleware."""
    _sessions(settings, "twostep.accounts.sessions", DJANGO_MIDDLEWARE)
