"""The background worker outlives database and SMTP faults, and says when it last worked.

The fault tests run the real command (`manage.py worker --loop`) as a subprocess against
the test database and a real SMTP listener, and break things under it.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from tests.helpers import NOW
from tests.mail.conftest import SMTPServer
from tests.workers import allow_connections, wait_for
from twostep.mail.models import OutgoingEmail, WorkerHeartbeat
from twostep.mail.services import queue_email
from twostep.recovery.management.commands.worker import MAX_BACKOFF, backoff_delay


def worker_status() -> tuple[int, str]:
    """The command's exit status and everything it printed."""
    out = StringIO()
    try:
        call_command("worker_status", stdout=out, stderr=out)
    except SystemExit as exit:
        return int(exit.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_worker_status_fails_when_no_worker_ever_ran(db):
    assert worker_status() == (1, "No worker has completed a pass yet.\n")


def test_each_pass_writes_the_heartbeat_that_worker_status_prints(db, frozen):
    call_command("worker")

    (beat,) = WorkerHeartbeat.objects.all()
    assert beat.last_pass_at == NOW
    code, out = worker_status()
    assert code == 0
    assert out == f"Last pass {NOW.isoformat(timespec='seconds')} by {beat.host} pid {beat.pid}\n"

    frozen.shift(60)
    call_command("worker")
    assert WorkerHeartbeat.objects.get().last_pass_at == NOW + timedelta(seconds=60)


def test_worker_status_fails_once_no_pass_completed_within_the_late_limit(db, frozen, settings):
    settings.TWOSTEP_WORKER_LATE_SECONDS = 300
    call_command("worker")

    frozen.shift(300)
    assert worker_status()[0] == 0
    frozen.shift(1)
    code, out = worker_status()
    assert code == 1
    assert out.endswith(": late, no pass within 300 s.\n")


def test_failed_passes_back_off_doubling_up_to_a_minute():
    delays = [backoff_delay(interval=2.0, failures=n) for n in range(8)]

    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]


def test_the_back_off_stays_a_minute_through_days_of_failed_passes():
    assert backoff_delay(interval=2.0, failures=1024) == MAX_BACKOFF
    assert backoff_delay(interval=2.0, failures=100_000) == MAX_BACKOFF


def test_failed_passes_pause_at_least_a_second_even_with_no_interval():
    assert backoff_delay(interval=0.0, failures=0) == 0.0
    assert [backoff_delay(interval=0.0, failures=n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]


def test_the_support_queue_shows_the_workers_last_pass(agent, frozen):
    call_command("worker")
    frozen.shift(120)

    page = agent.get(reverse("support:queue")).content.decode()
    assert "Background worker: last pass 2\xa0minutes ago." in page

    frozen.shift(300)
    page = agent.get(reverse("support:queue")).content.decode()
    assert "last pass was 7\xa0minutes ago: emails and due resets are waiting" in page


@pytest.fixture
def recovery_tables_missing():
    """The recovery stage fails on its first query, as under a release whose recovery
    migration has not run yet: its requests table is renamed away for the test."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE recovery_recoveryrequest RENAME TO recovery_away")
    try:
        yield
    finally:
        connection.close()  # a failed stage may have left it unusable
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE recovery_away RENAME TO recovery_recoveryrequest")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("recovery_tables_missing")
def test_email_goes_out_when_the_recovery_stage_fails(user, mailoutbox, caplog):
    queue_for(user)

    with pytest.raises(CommandError):
        call_command("worker")

    assert [m.subject for m in mailoutbox] == ["Two-factor authentication is now on"]
    (failure,) = [r.getMessage() for r in caplog.records if r.name == "twostep.worker"]
    assert failure.startswith("Worker pass failed in the recovery stage (")
    assert not WorkerHeartbeat.objects.exists()  # a failed pass is no sign of life


# Fault tests: a real worker process under real faults.


def queue_for(user) -> OutgoingEmail:
    return queue_email(to=user.email, template="mfa_enabled", context={"user": user})


def delivered(listener: SMTPServer) -> list[str]:
    return [m["Subject"] for m in listener.inbox.messages]


def terminate_other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_worker_survives_its_database_connection_being_terminated(user, listener, workers):
    listener.start()
    worker = workers.start()
    wait_for(lambda: worker.last_pass(), "the worker's first pass")

    assert terminate_other_connections(), "no worker connection to terminate"
    queue_for(user)

    wait_for(lambda: delivered(listener), "the email queued after the fault")
    assert delivered(listener) == ["Two-factor authentication is now on"]
    assert worker.alive()
    before = worker.last_pass()
    wait_for(lambda: worker.last_pass() > before, "another completed pass")
    assert "pass failed" not in worker.log()  # the backend replaced the connection in time


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_worker_rides_out_a_database_that_refuses_connections(user, listener, workers):
    """A terminated connection alone is replaced by the backend before anything fails; a
    database that also refuses new connections (a failover in progress) makes passes fail,
    and the worker logs, backs off and carries on once it is back."""
    listener.start()
    worker = workers.start()
    wait_for(lambda: worker.last_pass(), "the worker's first pass")
    allow_connections(False)
    try:
        assert terminate_other_connections(), "no worker connection to terminate"
        failed = "Worker pass failed in the recovery stage (OperationalError"
        wait_for(lambda: failed in worker.log(), "a failed pass")
        assert worker.alive()
    finally:
        allow_connections(True)
    queue_for(user)

    wait_for(lambda: delivered(listener), "the email queued after the outage")
    assert delivered(listener) == ["Two-factor authentication is now on"]
    assert worker.alive()


@pytest.mark.django_db(transaction=True)
def test_the_worker_survives_an_smtp_outage_and_delivers_when_the_server_is_back(
    user, listener, workers
):
    worker = workers.start()  # nothing listens on the SMTP port yet
    queued = queue_for(user)

    def attempted() -> bool:
        queued.refresh_from_db()
        return queued.attempts >= 1

    wait_for(attempted, "a failed delivery attempt")
    assert "ConnectionRefusedError" in queued.last_error
    assert worker.alive()

    listener.start()
    # The retry is due in 30 s: move it to now rather than wait.
    OutgoingEmail.objects.filter(pk=queued.pk).update(next_attempt_at=queued.created_at)

    def sent() -> bool:
        queued.refresh_from_db()
        return queued.status == "sent"

    wait_for(sent, "the delivery after the outage")
    assert delivered(listener) == ["Two-factor authentication is now on"]
    assert queued.attempts == 2
    assert worker.alive()
    worker.process.terminate()  # a supervisor's stop: the pass ends, then a clean exit
    assert worker.process.wait(timeout=30) == 0


def sent() -> int:
    return OutgoingEmail.objects.filter(status=OutgoingEmail.Status.SENT).count()


@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_exits_after_the_email_in_flight_and_records_it(user, listener, workers):
    listener.inbox.delay = 2.0  # 10 emails: 20 s, longer than a supervisor's stop timeout
    listener.start()
    for _ in range(10):
        queue_for(user)
    worker = workers.start()
    wait_for(lambda: listener.inbox.envelopes, "the first send")

    worker.process.terminate()

    assert worker.process.wait(timeout=8) == 0
    assert sent() == len(listener.inbox.envelopes) < 10  # the one in flight was recorded


@pytest.mark.django_db(transaction=True)
def test_a_worker_with_a_long_backlog_writes_its_heartbeat_at_every_pass_budget(
    user, listener, workers
):
    listener.inbox.delay = 0.5
    listener.start()
    for _ in range(12):
        queue_for(user)
    worker = workers.start("--budget", "1")

    wait_for(lambda: worker.last_pass(), "the first heartbeat")
    assert sent() < 12
    first = worker.last_pass()
    wait_for(lambda: worker.last_pass() > first, "the next heartbeat")
    assert sent() < 12
    wait_for(lambda: sent() == 12, "the whole backlog")
