"""The durable mail queue: written with the change, delivered by the worker, retried."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from tests.conftest import NOW
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import MAX_ATTEMPTS, deliver_due, queue_email, retry_delay


@pytest.fixture
def queued(user, frozen) -> OutgoingEmail:
    return queue_email(to=user.email, template="password_changed", context={"user": user})


def test_queue_email_renders_subject_and_body_and_waits_for_the_worker(queued, mailoutbox):
    assert queued.subject == "Your password was changed"
    assert queued.body.startswith("Hello Ada Lovelace,\n")
    assert "Bpart account (ada@example.com)" in queued.body
    assert (queued.status, queued.attempts, queued.next_attempt_at) == ("queued", 0, NOW)
    assert mailoutbox == []


def test_deliver_due_sends_through_the_configured_backend(queued, mailoutbox, frozen):
    assert deliver_due() == 1

    (message,) = mailoutbox
    assert message.to == ["ada@example.com"]
    assert message.from_email == "Bpart <no-reply@bpart.com>"
    assert (message.subject, message.body) == (queued.subject, queued.body)
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.sent_at) == ("sent", 1, NOW)


def test_a_sent_email_is_not_sent_again(queued, mailoutbox, frozen):
    deliver_due()
    frozen.shift(3600)

    assert deliver_due() == 0
    assert len(mailoutbox) == 1


def test_an_email_queued_in_a_rolled_back_transaction_is_never_sent(user, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue_email(to=user.email, template="password_changed", context={"user": user})
        raise RuntimeError

    assert deliver_due() == 0
    assert not OutgoingEmail.objects.exists()


def test_the_worker_command_without_loop_delivers_once_and_exits(queued, mailoutbox):
    out = StringIO()

    call_command("worker", stdout=out)

    assert out.getvalue() == "resets done: 0, emails sent: 1\n"
    assert [m.subject for m in mailoutbox] == ["Your password was changed"]


def test_the_command_is_quiet_when_nothing_is_due(db, mailoutbox):
    out = StringIO()

    call_command("worker", stdout=out)

    assert out.getvalue() == ""


def test_retry_delay_doubles_from_thirty_seconds_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(8) == timedelta(hours=1)
    assert retry_delay(MAX_ATTEMPTS) == timedelta(hours=1)


def test_a_message_is_given_up_only_after_the_last_attempt(queued, smtp_server, frozen):
    # smtp_server is never started: every attempt meets a refused connection.
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert deliver_due() == 0
        queued.refresh_from_db()
        assert queued.attempts == attempt
        frozen.shift(retry_delay(attempt).total_seconds())

    assert queued.status == "failed"
    assert "ConnectionRefusedError" in queued.last_error
    assert deliver_due() == 0


def test_a_delivered_body_is_erased_from_the_queue(user, mailoutbox, frozen):
    """Bodies may carry one-time links (password reset, recovery): none stays in the database
    once the message has left."""
    message = queue_email(to=user.email, template="password_changed", context={"user": user})
    assert deliver_due() == 1
    assert user.full_name in mailoutbox[0].body
    message.refresh_from_db()
    assert message.status == OutgoingEmail.Status.SENT
    assert user.full_name not in message.body
