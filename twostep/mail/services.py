"""Outgoing email through a durable queue in the database.

`queue_email` writes a row in the caller's transaction, so a security change and the email
announcing it commit (or roll back) together. `deliver_due` is run by the worker command:
it claims due rows one at a time, sends them, and on failure retries with back-off.
"""

import logging
import smtplib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.message import BadHeaderError, EmailMessage
from django.db import DatabaseError, close_old_connections, connections, transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutgoingEmail

logger = logging.getLogger(__name__)

ERASED = "(erased after delivery)"
RETRY_CAP = timedelta(hours=1)
# A message refused with a 5xx is tried once more after this before it is given up; and a
# pass that meets this many 5xx refusals in a row ends (the server, not the messages).
SECOND_REFUSAL_AFTER = timedelta(minutes=15)
REFUSALS_END_PASS = 3
QUEUED = OutgoingEmail.Status.QUEUED
# Seconds between tries of a message's final status write (see _write_status).
STATUS_WRITE_WAITS = (0.5, 1.0, 2.0, 4.0)


def queue_email(*, to: str, template: str, context: dict[str, Any]) -> OutgoingEmail:
    """Render `mail/<template>.txt` (first line is the subject) and queue it for `to`."""
    context = {"product_name": settings.TWOSTEP_PRODUCT_NAME, **context}
    rendered = render_to_string(f"mail/{template}.txt", context).strip()
    subject, _, body = rendered.partition("\n")
    now = timezone.now()
    return OutgoingEmail.objects.create(
        to=to,
        message_id=new_message_id(),
        subject=subject.removeprefix("Subject:").strip(),
        body=body.strip() + "\n",
        next_attempt_at=now,
        retry_until=now + retry_period(),
        created_at=now,
    )


def requeue_failed(*, email: OutgoingEmail) -> bool:
    """Queue a failed email again, due now and retried for another retry period (same body
    and Message-ID). Returns False, changing nothing, when it was not failed or is not
    `resendable()`."""
    now = timezone.now()
    return bool(
        resendable(OutgoingEmail.objects.filter(pk=email.pk)).update(
            status=QUEUED, next_attempt_at=now, retry_until=now + retry_period()
        )
    )


def resendable(emails: QuerySet[OutgoingEmail]) -> QuerySet[OutgoingEmail]:
    """The failed emails that can be sent again: not those given up before bodies were kept
    (before issue 7 a failed email had its body erased, and would go out as "(erased...)")."""
    return emails.filter(status=OutgoingEmail.Status.FAILED).exclude(body=ERASED)


def new_message_id() -> str:
    """A globally unique Message-ID in the sender's domain (RFC 5322 msg-id)."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


def retry_delay(attempts: int) -> timedelta:
    """30 s after the first failed attempt, doubling up to an hour (the exponent is capped:
    an email is retried for days, and 2 ** attempts seconds would overflow timedelta)."""
    return min(timedelta(seconds=30 * 2 ** min(attempts - 1, 10)), RETRY_CAP)


def retry_period() -> timedelta:
    return timedelta(seconds=settings.TWOSTEP_MAIL_RETRY_SECONDS)


def claim_length() -> timedelta:
    return timedelta(seconds=settings.TWOSTEP_MAIL_CLAIM_SECONDS)


def deliver_due(
    *, limit: int = 50, stop: threading.Event | None = None, deadline: float | None = None
) -> int:
    """Send up to `limit` due messages, one at a time. Returns how many were sent.

    Ends early, between two messages, once `stop` is set or `time.monotonic()` passes
    `deadline`, and right after a connection-level SMTP error (the server is down or turns
    every session away: the other messages would only fail the same way).

    A worker claims one message by moving its `next_attempt_at` a claim length ahead (one
    short transaction; skip_locked lets workers pass each other), and while the message is
    being sent a thread renews that claim every third of its length. So no other worker
    takes a message in flight, however slow the SMTP server or short the claim; only a
    worker that dies stops renewing, and its message is taken again once the claim lapses.
    Delivery is thus at least once, twice only after a worker died mid-send, and then with
    the same Message-ID so the receiver can drop the copy.
    """
    sent = refusals_in_a_row = 0
    connection = get_connection(fail_silently=False)
    for _ in range(limit):
        if (stop is not None and stop.is_set()) or (
            deadline is not None and time.monotonic() >= deadline
        ):
            break
        message = _claim_next()
        if message is None:
            break
        with _renewing_claim(message.pk):
            error = _send(message, connection)
            if error is None:
                # Still claimed while the outcome is written (its retries take seconds):
                # a lapsed claim would let another worker send the message again.
                _record_delivery(message)
                sent += 1
        if error is not None:
            _record_failure(message, error)
            refusals_in_a_row = refusals_in_a_row + 1 if refused_for_good(error) else 0
            if server_unavailable(error) or refusals_in_a_row >= REFUSALS_END_PASS:
                break
        else:
            refusals_in_a_row = 0
    return sent


# Errors of the SMTP session as a whole (greeting, HELO, login, STARTTLS, a dropped line,
# our own sender address refused), not of one message.
SESSION_ERRORS = (
    smtplib.SMTPSenderRefused,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPNotSupportedError,
)


def refused_for_good(error: Exception) -> bool:
    """A permanent failure of this message: a 5xx reply to its recipient or data, or a
    header that cannot be sent. Retrying cannot help (unlike a 4xx or an outage). A 5xx to
    our sender address is the server's setup, not the message's: a session error."""
    if isinstance(error, BadHeaderError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, SESSION_ERRORS):  # the server or our login, not this message
        return False
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def server_unavailable(error: Exception) -> bool:
    """A connection-level failure: the server could not be reached or would not hold a
    session (smtplib's errors are OSErrors too; those about one message are not this)."""
    if isinstance(error, SESSION_ERRORS):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def _claim_next() -> OutgoingEmail | None:
    with transaction.atomic():
        message = (
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(status=QUEUED, next_attempt_at__lte=timezone.now())
            .order_by("next_attempt_at", "id")
            .first()
        )
        if message is not None:
            # The time after the lock: a claim timed from before a wait for it (SQLite's
            # write lock, a table lock) would be shorter, or already over.
            message.next_attempt_at = timezone.now() + claim_length()
            message.save(update_fields=["next_attempt_at"])
    return message


@contextmanager
def _renewing_claim(pk: int) -> Iterator[None]:
    """Keep message `pk` claimed while the block runs (a thread with its own connection)."""
    done = threading.Event()

    def renew() -> None:
        try:
            while not done.wait(claim_length().total_seconds() / 3):
                try:
                    OutgoingEmail.objects.filter(pk=pk, status=QUEUED).update(
                        next_attempt_at=timezone.now() + claim_length()
                    )
                except DatabaseError as error:  # the next renewal may still come in time
                    logger.warning("Claim on email %s not renewed: %s", pk, type(error).__name__)
                    connections.close_all()
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=renew, name=f"mail-claim-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _send(message: OutgoingEmail, connection: Any) -> Exception | None:
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": message.message_id},
        connection=connection,
    )
    try:
        email.send()
    except Exception as error:  # noqa: BLE001 - any transport failure means retry
        return error
    return None


def _record_delivery(message: OutgoingEmail) -> None:
    # The body may carry one-time links: none kept once delivered.
    _write_status(
        message,
        status=OutgoingEmail.Status.SENT,
        attempts=F("attempts") + 1,
        sent_at=timezone.now(),
        last_error="",
        body=ERASED,
    )


def _record_failure(message: OutgoingEmail, error: Exception) -> None:
    """Retry later, or give up after `retry_until` or at once when the message was refused
    for good: the message stays, body included, for support to see and re-send."""
    attempts = message.attempts + 1
    last_error = f"{type(error).__name__}: {error}"[:500]
    now = timezone.now()
    delay = retry_delay(attempts)
    permanent = refused_for_good(error)
    if permanent and attempts == 1 and not isinstance(error, BadHeaderError):
        # A 5xx gives up at the second refusal, a while later: a server that refuses every
        # recipient for a few minutes (a relay misconfigured) must not fail the whole queue.
        permanent, delay = False, max(delay, SECOND_REFUSAL_AFTER)
    gave_up = now >= message.retry_until or permanent
    _write_status(
        message,
        attempts=attempts,
        last_error=last_error,
        status=OutgoingEmail.Status.FAILED if gave_up else QUEUED,
        next_attempt_at=now + delay,
    )
    if gave_up:
        logger.error(
            "Email %s not delivered after %s attempts: %s", message.pk, attempts, last_error
        )
    else:
        logger.warning("Email %s to be retried (attempt %s): %s", message.pk, attempts, last_error)


def _write_status(message: OutgoingEmail, **values: Any) -> None:
    """Record the outcome of an attempt, trying again a few times on a database error (a
    lock timeout, a lost connection): left unrecorded, a sent message would be sent again
    once its claim lapses. The UPDATE is conditional on status=QUEUED, so a try that did
    commit before its reply was lost makes the next one change nothing."""
    for wait in (*STATUS_WRITE_WAITS, None):
        try:
            OutgoingEmail.objects.filter(pk=message.pk, status=QUEUED).update(**values)
            return
        except DatabaseError as error:
            if wait is None:
                raise
            logger.warning(
                "Email %s: outcome not recorded yet (%s)", message.pk, type(error).__name__
            )
            time.sleep(wait)
            close_old_connections()
