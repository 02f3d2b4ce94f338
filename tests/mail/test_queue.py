"""The durable mail queue: written with the change, delivered by the worker, retried."""

import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from tests.helpers import NOW
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import (
    SECOND_REFUSAL_AFTER,
    deliver_due,
    queue_email,
    requeue_failed,
    retry_delay,
)


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
    assert retry_delay(100) == timedelta(hours=1)


def fail_until_given_up(message: OutgoingEmail, frozen) -> list[OutgoingEmail]:
    """Let every attempt fail (nothing listens) until the message is given up; its states."""
    states = []
    while message.status == OutgoingEmail.Status.QUEUED:
        assert deliver_due() == 0
        message.refresh_from_db()
        states.append(OutgoingEmail.objects.get(pk=message.pk))
        frozen.shift(retry_delay(message.attempts).total_seconds())
    return states


def test_an_undeliverable_email_is_retried_for_three_days_and_then_kept(
    queued, smtp_server, frozen
):
    # smtp_server is never started: every attempt meets a refused connection.
    states = fail_until_given_up(queued, frozen)

    *retried, last = states
    assert all(s.status == "queued" for s in retried)
    assert retried[-1].next_attempt_at - NOW < timedelta(days=3) + timedelta(hours=1)
    assert last.next_attempt_at - retry_delay(last.attempts) >= NOW + timedelta(days=3)
    assert len(states) > 70  # hourly after the first few hours, not 12 and done
    assert (last.status, last.attempts) == ("failed", len(states))
    assert "ConnectionRefusedError" in last.last_error
    assert last.body == queued.body  # kept for the re-send: only a sent body is erased
    assert deliver_due() == 0


def test_a_failed_email_is_queued_again_once_with_the_same_message_id(queued, smtp_server, frozen):
    fail_until_given_up(queued, frozen)
    smtp_server.start()

    assert requeue_failed(email=queued) is True
    assert requeue_failed(email=queued) is False  # already queued again
    assert deliver_due() == 1

    (message,) = smtp_server.inbox.messages
    assert message["Message-ID"] == queued.message_id
    queued.refresh_from_db()
    assert queued.status == "sent"


def test_a_delivered_body_is_erased_from_the_queue(user, mailoutbox, frozen):
    """Bodies may carry one-time links (password reset, recovery): none stays in the database
    once the message has left."""
    message = queue_email(to=user.email, template="password_changed", context={"user": user})
    assert deliver_due() == 1
    assert user.full_name in mailoutbox[0].body
    message.refresh_from_db()
    assert message.status == OutgoingEmail.Status.SENT
    assert user.full_name not in message.body


def attempts_made() -> list[int]:
    return list(OutgoingEmail.objects.order_by("id").values_list("attempts", flat=True))


def test_delivery_stops_between_two_messages_once_the_worker_is_asked_to_stop(user, smtp_server):
    for _ in range(3):
        queue_email(to=user.email, template="password_changed", context={"user": user})
    stop = threading.Event()
    smtp_server.inbox.on_message = stop.set  # SIGTERM arrives during the first send
    smtp_server.start()

    assert deliver_due(stop=stop) == 1
    assert attempts_made() == [1, 0, 0]


def test_delivery_stops_between_two_messages_once_the_pass_budget_is_spent(user, smtp_server):
    for _ in range(3):
        queue_email(to=user.email, template="password_changed", context={"user": user})
    smtp_server.inbox.delay = 1.5  # each send outlasts the budget
    smtp_server.start()

    assert deliver_due(deadline=time.monotonic() + 1.0) == 1
    assert attempts_made() == [1, 0, 0]


def test_delivery_ends_at_the_first_connection_level_error(user, smtp_server):
    # smtp_server is never started: the other messages would meet the same refusal.
    for _ in range(3):
        queue_email(to=user.email, template="password_changed", context={"user": user})

    assert deliver_due() == 0
    assert attempts_made() == [1, 0, 0]


def one_attempt(smtp_server) -> OutgoingEmail:
    smtp_server.start()
    deliver_due()
    (message,) = OutgoingEmail.objects.all()
    return message


@pytest.mark.parametrize(
    ("refused", "reply"),
    [
        ("ada@example.com", "550 5.1.1 No such user"),
        ("data", "554 5.7.1 Message rejected as spam"),
    ],
)
def test_a_message_refused_for_good_is_given_up_at_its_second_refusal_a_while_later(
    queued, smtp_server, frozen, refused, reply
):
    if refused == "data":
        smtp_server.inbox.data_reply = reply
    else:
        smtp_server.inbox.refused[refused] = reply

    message = one_attempt(smtp_server)
    assert (message.status, message.attempts) == ("queued", 1)
    assert message.next_attempt_at == NOW + SECOND_REFUSAL_AFTER
    frozen.shift(SECOND_REFUSAL_AFTER.total_seconds())
    deliver_due()

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 2)
    assert reply.split()[0] in message.last_error
    assert message.body == queued.body  # kept for a re-send once the cause is fixed


@pytest.mark.parametrize(
    ("refused", "reply"),
    [
        ("ada@example.com", "450 4.2.1 Mailbox busy, try later"),
        ("data", "451 4.3.0 Try again later"),
    ],
)
def test_a_temporary_refusal_is_retried(queued, smtp_server, refused, reply):
    if refused == "data":
        smtp_server.inbox.data_reply = reply
    else:
        smtp_server.inbox.refused[refused] = reply

    message = one_attempt(smtp_server)

    assert (message.status, message.attempts) == ("queued", 1)
    assert message.next_attempt_at == NOW + retry_delay(1)


def test_a_server_refusing_every_recipient_for_a_while_fails_no_email(user, smtp_server, frozen):
    """A relay misconfigured for a few minutes: three refusals in a row end the pass, and
    the refused ones are tried again later instead of being given up."""
    for _ in range(5):
        queue_email(to=user.email, template="password_changed", context={"user": user})
    smtp_server.inbox.refused[user.email] = "550 5.7.1 Relaying denied"
    smtp_server.start()

    deliver_due()
    assert attempts_made() == [1, 1, 1, 0, 0]
    del smtp_server.inbox.refused[user.email]  # fixed
    frozen.shift(SECOND_REFUSAL_AFTER.total_seconds())
    deliver_due()

    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {"sent"}


def test_our_sender_address_refused_is_a_session_error_retried_later(user, smtp_server):
    for _ in range(3):
        queue_email(to=user.email, template="password_changed", context={"user": user})
    smtp_server.inbox.mail_from_reply = "553 5.7.1 Sender address rejected"
    smtp_server.start()

    assert deliver_due() == 0

    assert attempts_made() == [1, 0, 0]
    assert set(OutgoingEmail.objects.values_list("status", flat=True)) == {"queued"}


def test_a_message_with_a_header_that_cannot_be_sent_is_given_up_at_once(queued, smtp_server):
    OutgoingEmail.objects.filter(pk=queued.pk).update(subject="Hello\nBcc: eve@example.com")

    message = one_attempt(smtp_server)

    assert (message.status, message.attempts) == ("failed", 1)
    assert message.last_error.startswith("BadHeaderError")
    assert smtp_server.inbox.envelopes == []
