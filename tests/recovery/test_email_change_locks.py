"""The User row is locked before the email change everywhere (email_change.py): a new
request racing the confirmation of the one it replaces ends one way or the other, never in
a deadlock (PostgreSQL)."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client

from tests.concurrency import at_once
from tests.helpers import verified_session
from tests.recovery.test_email_change import CONFIRM, NEW, ask, link_in
from twostep.accounts.models import EmailChange, User

ROUNDS = 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_new_request_racing_a_confirmation_has_a_clear_outcome(make_user, frozen):
    for round in range(ROUNDS):
        first, later = f"ada{round}@example.com", f"later{round}@example.org"
        ada = make_user(first)
        asking = verified_session(Client(), ada)
        ask(asking)
        path = link_in(NEW, CONFIRM)

        outcome = at_once(lambda: Client().post(path), lambda: ask(asking, later))  # noqa: B023

        assert not outcome.errors  # no deadlock, no 500
        confirmed, asked = outcome.results
        assert asked.status_code == 302
        ada.refresh_from_db()
        change = EmailChange.objects.get(new_email=later)
        if ada.email == NEW:  # the confirmation first: the new request is from NEW
            assert confirmed.status_code == 200 and change.old_email == NEW
        else:  # the new request first: it replaced the one being confirmed
            assert confirmed.status_code == 400 and ada.email == first
            assert EmailChange.objects.get(new_email=NEW).status == EmailChange.Status.REPLACED
        User.objects.filter(pk=ada.pk).update(email=f"gone{round}@example.net")
        EmailChange.objects.all().delete()


def start(call) -> tuple[threading.Thread, dict]:
    """`call` in a thread of its own (and connection, closed after)."""
    box: dict = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as error:  # reported to the test
            box["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


def wait_for_lock_waiters(count: int) -> None:
    """Until `count` connections to the test database wait for a lock."""
    for _ in range(3000):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.01)
    raise AssertionError(f"{count} lock waiters never came")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_confirmation_and_a_new_request_queued_on_the_same_change_do_not_deadlock(
    make_user, frozen
):
    """The interleaving that deadlocked when confirm() locked the change before the User:
    the confirmation queues first, the new request second, then both go."""
    ada = make_user()
    asking = verified_session(Client(), ada)
    ask(asking)
    path = link_in(NEW, CONFIRM)
    with transaction.atomic():  # hold the change row, so both calls queue on it or behind
        EmailChange.objects.select_for_update().get()
        confirming = start(lambda: Client().post(path))
        wait_for_lock_waiters(1)
        asking_again = start(lambda: ask(asking, "later@example.org"))
        wait_for_lock_waiters(2)
    for thread, _ in (confirming, asking_again):
        thread.join(timeout=60)

    assert "error" not in confirming[1] and "error" not in asking_again[1]
    assert confirming[1]["result"].status_code == 200
    assert asking_again[1]["result"].status_code == 302
    ada.refresh_from_db()
    assert ada.email == NEW
    assert EmailChange.objects.get(new_email="later@example.org").old_email == NEW
