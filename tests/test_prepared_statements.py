"""On PostgreSQL, psycopg prepares the statements a connection repeats (settings.py,
`prepare_threshold`), so the session load is neither parsed nor planned again; a connection
replaced after the server ended it (twostep.postgresql) prepares afresh, without an error."""

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.helpers import log_in
from tests.test_lost_connection import terminate_app_connection
from twostep.accounts import session_engine

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def session_load_prepared() -> bool:
    sql = session_engine._session_loader("default").sql
    with connection.cursor() as cursor:
        # psycopg sends the statement with $n placeholders; compare what comes before them.
        head = sql.split("%s")[0]
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE starts_with(statement, %s)",
            [head],
        )
        return cursor.fetchone()[0] == 1


@pytest.fixture
def reconnects():
    yield
    connection.close()


@pytest.mark.usefixtures("reconnects")
def test_the_session_load_is_prepared_and_prepared_again_on_a_new_connection(make_user):
    threshold = settings.DATABASES["default"]["OPTIONS"]["prepare_threshold"]
    assert threshold == 5
    client = Client()
    log_in(client, make_user())
    for _ in range(threshold + 1):
        assert client.get("/api/session/").json()["authenticated"] is True
    assert session_load_prepared()

    terminate_app_connection()
    assert client.get("/api/session/").json()["authenticated"] is True
    assert not session_load_prepared()  # a new server session: nothing prepared yet
    for _ in range(threshold):
        assert client.get("/api/session/").json()["authenticated"] is True
    assert session_load_prepared()
