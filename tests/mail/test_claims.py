"""Each queued email is delivered once, with the Message-ID chosen when it was queued.

A claim on a message is renewed while it is being sent, so two workers facing an SMTP
server slower than the claim still never send a message twice; only a worker that dies
mid-send causes a second copy, which carries the same Message-ID.
"""

import os
import signal
import sqlite3
import threading

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from tests.helpers import start_django
from tests.workers import WAIT, Worker, allow_connections, wait_for
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import _claim_next, deliver_due, queue_email

SLOW_SEND = 1.5  # seconds the SMTP server takes per message
SHORT_CLAIM = "1"  # seconds: shorter than one send


def queue_for(user) -> OutgoingEmail:
    return queue_email(to=user.email, template="mfa_enabled", context={"user": user})


def sent() -> int:
    return OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT).count()


def settle(*running: Worker) -> None:
    """Wait until each worker has completed one more pass: none is in the middle of a send."""
    for worker in running:
        before = worker.last_pass()
        wait_for(lambda w=worker, b=before: w.last_pass() > b, f"another pass of {worker.pid}")


def test_each_queued_email_gets_its_own_message_id_in_the_senders_domain(user):
    first, second = queue_for(user), queue_for(user)

    assert first.message_id != second.message_id
    assert first.message_id.startswith("<")
    assert first.message_id.endswith("@bpart.com>")


def test_every_attempt_sends_the_message_id_chosen_when_queued(user, smtp_server, frozen):
    queued = queue_for(user)
    assert deliver_due() == 0  # the server is down: a failed attempt

    smtp_server.start()
    frozen.shift(30)
    assert deliver_due() == 1

    (message,) = smtp_server.inbox.messages
    assert message["Message-ID"] == queued.message_id
    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("sent", 2)


@pytest.mark.django_db(transaction=True)
def test_two_workers_and_a_server_slower_than_the_claim_deliver_each_email_exactly_once(
    user, listener, workers
):
    listener.inbox.delay = SLOW_SEND
    listener.start()
    queued = [queue_for(user) for _ in range(6)]

    pair = [workers.start(TWOSTEP_MAIL_CLAIM_SECONDS=SHORT_CLAIM) for _ in range(2)]
    wait_for(lambda: sent() == len(queued), "every email sent")
    settle(*pair)

    received = sorted(m["Message-ID"] for m in listener.inbox.messages)
    assert received == sorted(m.message_id for m in queued)
    assert all(worker.alive() for worker in pair)


@pytest.mark.django_db(transaction=True)
def test_an_email_whose_worker_died_mid_send_goes_again_with_the_same_message_id(
    user, listener, workers
):
    listener.inbox.delay = SLOW_SEND
    listener.start()
    first = workers.start(TWOSTEP_MAIL_CLAIM_SECONDS=SHORT_CLAIM)
    queued = queue_for(user)

    wait_for(lambda: listener.inbox.envelopes, "the first worker's send")
    os.kill(first.pid, signal.SIGKILL)  # mid-send: the server keeps the message
    workers.start(TWOSTEP_MAIL_CLAIM_SECONDS=SHORT_CLAIM)
    wait_for(lambda: sent() == 1, "the second worker's send")

    ids = [m["Message-ID"] for m in listener.inbox.messages]
    assert ids == [queued.message_id] * 2
    queued.refresh_from_db()
    assert queued.attempts == 1  # the dead worker never recorded its attempt


def database_unavailable(seconds: float, backend_pid: int | None) -> None:
    """From now on, for `seconds`, the app's next write fails: on SQLite another process
    holds the write lock (longer than the busy timeout); on PostgreSQL the app's connection
    is terminated and the database refuses new ones (a failover)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        holder = sqlite3.connect(db["NAME"], isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
        threading.Timer(seconds, holder.close).start()  # closing rolls back: lock released
        return
    allow_connections(False, terminate=backend_pid)
    threading.Timer(seconds, allow_connections, [True]).start()


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """SQLite gives up on a lock after 0.2 s instead of 20 (PostgreSQL: no change)."""
    if connection.vendor == "sqlite":
        monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)
    connection.close()
    yield
    connection.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("short_busy_timeout")
def test_a_sent_email_whose_outcome_meets_a_database_fault_is_recorded_and_not_sent_again(
    user, smtp_server
):
    queued = queue_for(user)
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid if connection.vendor == "postgresql" else None
    smtp_server.inbox.on_message = lambda: database_unavailable(1.2, pid)
    smtp_server.start()

    assert deliver_due() == 1

    queued.refresh_from_db()
    assert queued.status == "sent"
    assert len(smtp_server.inbox.envelopes) == 1


def queue_locked_for(seconds: float) -> None:
    """Another process holds the queue for `seconds`: SQLite's write lock, or on PostgreSQL
    a lock on the queue table that a claim's SELECT ... FOR UPDATE must wait for."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        holder = sqlite3.connect(db["NAME"], isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")
        threading.Timer(seconds, holder.close).start()
        return
    params = {"dbname": db["NAME"], "user": db["USER"], "host": db["HOST"], "port": db["PORT"]}
    locker = psycopg.connect(**params, password=db["PASSWORD"] or None)
    locker.execute("LOCK TABLE mail_outgoingemail IN EXCLUSIVE MODE")
    threading.Timer(seconds, locker.close).start()  # closing rolls back: lock released


@pytest.mark.django_db(transaction=True)
def test_a_claim_made_after_waiting_for_a_lock_lasts_its_full_length_from_then(user, settings):
    settings.TWOSTEP_MAIL_CLAIM_SECONDS = 1
    queue_for(user)
    queue_locked_for(1.5)

    claimed = _claim_next()

    assert claimed is not None
    assert claimed.next_attempt_at > timezone.now()  # not lapsed while it waited


@pytest.mark.parametrize("seconds", ["0", "-1", "nan"])
def test_a_claim_of_no_time_is_refused_at_startup(seconds):
    started = start_django(TWOSTEP_MAIL_CLAIM_SECONDS=seconds)

    assert started.returncode == 1
    assert "TWOSTEP_MAIL_CLAIM_SECONDS must be more than 0 seconds." in started.stderr


@pytest.mark.django_db(transaction=True)
def test_a_message_in_flight_is_not_taken_by_a_worker_that_starts_after_its_claim_lapsed(
    user, listener, workers
):
    """One message, a claim of 0.3 s, and a send held open until a second worker, started
    after the first had claimed it, has completed two passes (each long after 0.3 s)."""
    second_worked = threading.Event()
    listener.inbox.on_message = lambda: second_worked.wait(WAIT)  # the reply waits for it
    listener.start()
    queued = queue_for(user)
    first = workers.start(TWOSTEP_MAIL_CLAIM_SECONDS="0.3", EMAIL_TIMEOUT=str(int(WAIT)))
    wait_for(lambda: listener.inbox.envelopes, "the first worker's send")

    second = workers.start(TWOSTEP_MAIL_CLAIM_SECONDS="0.3")
    wait_for(lambda: second.last_pass(), "the second worker's first pass")
    settle(second)
    second_worked.set()
    wait_for(lambda: sent() == 1, "the first worker's delivery")
    settle(first, second)

    assert [m["Message-ID"] for m in listener.inbox.messages] == [queued.message_id]
    queued.refresh_from_db()
    assert queued.attempts == 1
