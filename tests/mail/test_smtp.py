"""Delivery over a real SMTP socket, and through an outage without losing a message."""

from datetime import timedelta

from tests.helpers import NOW
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import deliver_due, queue_email


def queue_for(user) -> OutgoingEmail:
    return queue_email(to=user.email, template="mfa_enabled", context={"user": user})


def test_deliver_due_sends_over_smtp(user, smtp_server):
    smtp_server.start()
    queue_for(user)

    assert deliver_due() == 1

    (envelope,) = smtp_server.inbox.envelopes
    assert envelope.mail_from == "no-reply@bpart.com"
    assert envelope.rcpt_tos == ["ada@example.com"]
    (message,) = smtp_server.inbox.messages
    assert message["Subject"] == "Two-factor authentication is now on"
    assert message["To"] == "ada@example.com"
    assert "Two-factor authentication is now on for your Bpart account" in (
        message.get_payload(decode=True).decode()
    )
    assert OutgoingEmail.objects.get().status == "sent"


def test_an_smtp_outage_keeps_the_message_and_it_is_delivered_later(user, smtp_server, frozen):
    queued = queue_for(user)

    assert deliver_due() == 0  # nothing listens on the port

    queued.refresh_from_db()
    assert (queued.status, queued.attempts) == ("queued", 1)
    assert queued.next_attempt_at == NOW + timedelta(seconds=30)
    assert "ConnectionRefusedError" in queued.last_error

    smtp_server.start()
    assert deliver_due() == 0  # the back-off has not passed yet
    assert smtp_server.inbox.envelopes == []

    frozen.shift(30)
    assert deliver_due() == 1

    (message,) = smtp_server.inbox.messages
    assert message["Subject"] == "Two-factor authentication is now on"
    queued.refresh_from_db()
    assert (queued.status, queued.attempts, queued.last_error) == ("sent", 2, "")


def test_one_failing_recipient_does_not_hold_back_the_others(user, make_user, smtp_server):
    grace = make_user("grace@example.com", "Grace Hopper")
    smtp_server.start()
    queue_for(user)
    broken = queue_email(to="grace@example.com", template="mfa_enabled", context={"user": grace})
    OutgoingEmail.objects.filter(pk=broken.pk).update(to="grace@bad\nheader.example")
    queue_for(grace)

    assert deliver_due() == 2

    assert sorted(e.rcpt_tos[0] for e in smtp_server.inbox.envelopes) == [
        "ada@example.com",
        "grace@example.com",
    ]
    broken.refresh_from_db()
    assert (broken.status, broken.attempts) == ("failed", 1)  # it cannot be sent: given up
