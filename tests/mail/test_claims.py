"""Each queued email is delivered once, with the Message-ID chosen when it was queued.

A claim on a message is renewed while it is being sent, so two workers facing an SMTP
server slower than the claim still never send a message twice; only a worker that dies
mid-send causes a second copy, which carries the same Message-ID.
"""

import os
import signal

import pytest

from tests.workers import Worker, wait_for
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import deliver_due, queue_email

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
