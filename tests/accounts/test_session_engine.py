"""The session fast path (twostep.accounts.session_engine): one statement per authenticated
page, expiry honoured, the private Django API it overrides still shaped as it expects, and
the fallback to Django's own sessions (TWOSTEP_FAST_SESSIONS=0) keeping the behaviour."""

import inspect
import json
import os
import subprocess
import sys
from datetime import timedelta

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import middleware as auth_middleware
from django.contrib.sessions.backends import base, db
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.helpers import DJANGO_MIDDLEWARE, FAST_MIDDLEWARE, enable_2fa, log_in, verified_session
from twostep.accounts import session_engine, sessions
from twostep.accounts.models import UserSession
from twostep.accounts.sessions import end_all_sessions

PAGE = "/settings/"


def test_an_authenticated_page_costs_one_statement(
    fast_sessions, client, user, django_assert_num_queries
):
    enable_2fa(user)
    verified_session(client, user)

    with django_assert_num_queries(1):  # session, user and authenticator, nothing else
        response = client.get("/api/session/")

    assert response.json()["verified_with_two_factor"] is True


def test_a_page_with_queries_of_its_own_still_loads_session_and_user_once(
    fast_sessions, client, user
):
    enable_2fa(user)
    verified_session(client, user)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(PAGE)

    assert response.status_code == 200 and response.context["user"] == user
    session_reads = [q["sql"] for q in queries if "usersession" in q["sql"]]
    user_reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "accounts_user"')]
    assert len(session_reads) == 1 and not user_reads, [q["sql"] for q in queries]


def test_an_expired_session_is_not_loaded(fast_sessions, client, user, time_machine):
    verified_session(client, user)
    key = client.session.session_key
    assert client.get(PAGE).status_code == 200

    expiry = UserSession.objects.get(session_key=key).expire_date
    time_machine.move_to(expiry + timedelta(seconds=1))

    assert session_engine._session_loader("default").fetch(key) is None
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


# The canary: what the fast path overrides or reads, as Django defines it today. A failure
# here means Django changed a private name; re-read session_engine.py before updating.


def test_the_private_session_store_api_we_override_is_unchanged():
    store = db.SessionStore
    assert list(inspect.signature(store._get_session_from_db).parameters) == ["self"]
    assert list(inspect.signature(base.SessionBase._get_new_session_key).parameters) == ["self"]
    assert list(inspect.signature(base.SessionBase.cycle_key).parameters) == ["self"]
    assert list(inspect.signature(store.delete).parameters) == ["self", "session_key"]
    assert isinstance(base.SessionBase._session, property)
    assert "_session_cache" in inspect.getsource(base.SessionBase._get_session)
    # load() reads .session_data from what _get_session_from_db returns, None for no row.
    load = inspect.getsource(store.load)
    assert "self._get_session_from_db()" in load and ".session_data" in load
    assert "self._get_new_session_key()" in inspect.getsource(store.create)
    # _session_key: a validating property that cycle_key and a missing row set to None.
    assert isinstance(base.SessionBase._session_key, property)
    assert base.SessionBase._session_key.fset is not None


def test_django_auth_still_reads_the_user_the_way_the_fast_path_feeds_it():
    get_user = inspect.getsource(auth.get_user)
    assert "request.session" in get_user
    assert "backend.get_user(user_id)" in get_user
    assert "get_session_auth_hash" in get_user  # the session hash check we keep
    assert "request._cached_user" in inspect.getsource(auth_middleware.get_user)
    assert list(
        inspect.signature(auth_middleware.AuthenticationMiddleware.process_request).parameters
    ) == ["self", "request"]


def test_the_fast_store_is_django_database_store_underneath():
    assert issubclass(session_engine.SessionStore, sessions.SessionStore)
    assert issubclass(sessions.SessionStore, db.SessionStore)
    assert sessions.SessionStore._get_session_from_db is db.SessionStore._get_session_from_db


def test_with_the_fast_path_off_login_pages_logout_and_ending_sessions_work(django_sessions, user):
    enable_2fa(user)
    browser, other = Client(), Client()
    log_in(browser, user)
    log_in(other, user, steps=1)  # the next code: the first one is spent

    page = browser.get(PAGE)
    assert page.status_code == 200 and page.context["user"] == user
    assert type(browser.session) is sessions.SessionStore
    assert not hasattr(browser.session, "loaded_user")
    assert UserSession.objects.filter(user=user).count() == 2  # the row records user_id

    browser.post("/logout/")
    assert browser.get(PAGE).status_code == 302
    assert UserSession.objects.filter(user=user).count() == 1

    assert end_all_sessions(user) == 1
    assert other.get(PAGE)["Location"].startswith("/login/")


def engine_and_middleware(**env: str) -> dict:
    """SESSION_ENGINE and MIDDLEWARE as settings.py reads them, in a fresh interpreter."""
    clean = {k: v for k, v in os.environ.items() if k != "TWOSTEP_FAST_SESSIONS"}
    show = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_ENGINE, s.MIDDLEWARE]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", show],
        env={**clean, "DJANGO_SETTINGS_MODULE": "twostep.settings", **env},
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    engine, middleware = json.loads(result.stdout)
    return {"engine": engine, "middleware": middleware}


def test_the_fast_path_is_on_by_default_and_off_with_the_setting_at_zero():
    on, off = engine_and_middleware(), engine_and_middleware(TWOSTEP_FAST_SESSIONS="0")

    assert on["engine"] == "twostep.accounts.session_engine"
    assert FAST_MIDDLEWARE in on["middleware"] and DJANGO_MIDDLEWARE not in on["middleware"]
    assert off["engine"] == "twostep.accounts.sessions"
    assert DJANGO_MIDDLEWARE in off["middleware"] and FAST_MIDDLEWARE not in off["middleware"]
