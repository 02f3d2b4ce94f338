"""A database connection lost between or during requests (pg_terminate_backend, as in a
PostgreSQL restart or failover) costs no request a 500, and nothing is written twice."""

import time

import psycopg
import pytest
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.helpers import log_in, submit_password
from tests.workers import allow_connections
from twostep.accounts.models import User, UserSession
from twostep.audit.models import SecurityEvent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def on_postgres():
    """Closes the connection a test may leave broken on purpose, so the teardown reconnects.
    (The tests are marked `postgres`: only there can a backend be terminated.)"""
    yield
    connection.close()


def terminate_app_connection() -> None:
    """pg_terminate_backend for the app's connection (the test client's requests run on
    this thread's Django connection), from a connection of its own; waits until it is gone."""
    connection.cursor().close()  # open and alive, without sending a statement
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    params = {"dbname": db["NAME"], "user": db["USER"], "host": db["HOST"], "port": db["PORT"]}
    with psycopg.connect(**params, password=db["PASSWORD"] or None, autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            gone = admin.execute(
                "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = %s)", [pid]
            )
            if gone.fetchone() == (True,):
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} still running")


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_pages_and_a_login_answer_normally_after_the_connection_was_terminated(make_user):
    ada = make_user()
    grace = make_user("grace@example.com", "Grace Hopper")
    ada_client = Client()
    log_in(ada_client, ada)

    terminate_app_connection()
    assert ada_client.get("/profile/").status_code == 200

    terminate_app_connection()
    assert ada_client.get("/api/session/").json()["authenticated"] is True

    terminate_app_connection()
    assert Client().get("/login/").status_code == 200

    terminate_app_connection()
    grace_client = Client()
    response = submit_password(grace_client, grace.email)

    assert response.status_code == 302 and response["Location"] == "/profile/"
    logins = SecurityEvent.objects.filter(subject=grace, type=SecurityEvent.Type.LOGIN)
    assert logins.count() == 1
    assert UserSession.objects.filter(user=grace).count() == 1


def test_the_authenticated_page_still_costs_one_statement(fast_sessions, make_user):
    ada = make_user()
    client = Client()
    log_in(client, ada)

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/session/").status_code == 200

    assert len(queries) == 1, [q["sql"] for q in queries]


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_a_transaction_begun_after_the_connection_was_lost_runs_on_a_new_one(user):
    terminate_app_connection()  # during the request's other work (a password hash)

    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(full_name="Ada King")

    assert User.objects.get(pk=user.pk).full_name == "Ada King"


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_a_read_whose_connection_dies_after_the_check_is_run_again(user, monkeypatch):
    terminate_app_connection()
    # The server ends it between the check and the read.
    monkeypatch.setattr(connection, "hung_up", lambda: False)

    assert User.objects.get(pk=user.pk).email == "ada@example.com"


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_a_write_whose_connection_dies_after_the_check_is_not_repeated(user, monkeypatch):
    terminate_app_connection()
    monkeypatch.setattr(connection, "hung_up", lambda: False)

    with pytest.raises(OperationalError):
        User.objects.filter(pk=user.pk).update(full_name="Ada King")
    monkeypatch.undo()
    connection.close()
    assert User.objects.get(pk=user.pk).full_name == "Ada Lovelace"


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_a_transaction_whose_first_statement_loses_the_connection_is_run_on_a_new_one(
    user, monkeypatch
):
    with transaction.atomic():
        terminate_app_connection()
        # Lost between the check and the statement.
        monkeypatch.setattr(connection, "hung_up", lambda: False)
        User.objects.filter(pk=user.pk).update(full_name="Ada King")
        monkeypatch.undo()
        User.objects.filter(pk=user.pk).update(last_login=None)

    assert User.objects.get(pk=user.pk).full_name == "Ada King"


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_a_transaction_that_had_begun_writing_is_not_repeated(user):
    with pytest.raises(OperationalError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(full_name="Ada King")
        terminate_app_connection()
        User.objects.filter(pk=user.pk).update(last_login=None)
    connection.close()

    assert User.objects.get(pk=user.pk).full_name == "Ada Lovelace"


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_a_refused_reconnect_in_a_transaction_fails_with_djangos_database_error(user):
    try:
        with transaction.atomic():
            terminate_app_connection()
            allow_connections(False)  # a failover still in progress
            with pytest.raises(OperationalError):  # Django's, as for any database error
                User.objects.filter(pk=user.pk).update(full_name="Ada King")
            allow_connections(True)  # so the block's own clean-up can reconnect
            transaction.set_rollback(True)
    finally:
        allow_connections(True)

    connection.close()
    assert User.objects.get(pk=user.pk).full_name == "Ada Lovelace"


@pytest.mark.postgres
@pytest.mark.usefixtures("on_postgres")
def test_with_autocommit_off_a_transaction_that_had_begun_writing_is_not_carried_on(user):
    connection.set_autocommit(False)  # a transaction managed by hand, no atomic block
    User.objects.filter(pk=user.pk).update(full_name="Ada King")
    terminate_app_connection()

    with pytest.raises(OperationalError):
        User.objects.filter(pk=user.pk).update(full_name="Ada Byron")
    connection.close()

    assert User.objects.get(pk=user.pk).full_name == "Ada Lovelace"
