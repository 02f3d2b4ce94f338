"""Outgoing email through a durable queue in the database.

`queue_email` writes a row in the caller's transaction, so a security change and the email
announcing it commit (or roll back) together. `deliver_due` is run by the worker command:
it claims due rows, sends them, and on failure retries with back-off.
"""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.message import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutgoingEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
ERASED = "(erased after delivery)"
RETRY_CAP = timedelta(hours=1)


def queue_email(*, to: str, template: str, context: dict[str, Any]) -> OutgoingEmail:
    """Render `mail/<template>.txt` (first line is the subject) and queue it for `to`."""
    context = {"product_name": settings.TWOSTEP_PRODUCT_NAME, **context}
    rendered = render_to_string(f"mail/{template}.txt", context).strip()
    subject, _, body = rendered.partition("\n")
    now = timezone.now()
    return OutgoingEmail.objects.create(
        to=to,
        subject=subject.removeprefix("Subject:").strip(),
        body=body.strip() + "\n",
        next_attempt_at=now,
        created_at=now,
    )


def retry_delay(attempts: int) -> timedelta:
    return min(timedelta(seconds=30 * 2 ** (attempts - 1)), RETRY_CAP)


def _claim(batch: int) -> list[OutgoingEmail]:
    """Move due rows' next attempt forward so no other worker takes them meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            OutgoingEmail.objects.select_for_update(skip_locked=True)
            .filter(status=OutgoingEmail.Status.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")[:batch]
        )
        if due:
            OutgoingEmail.objects.filter(pk__in=[m.pk for m in due]).update(
                next_attempt_at=now + timedelta(minutes=5)
            )
    return due


def deliver_due(*, batch: int = 50) -> int:
    """Send every due message once. Returns how many were sent."""
    due = _claim(batch)
    if not due:
        return 0
    sent = 0
    connection = get_connection(fail_silently=False)
    for message in due:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            connection=connection,
        )
        try:
            email.send()
        except Exception as error:  # noqa: BLE001 - any transport failure means retry
            _record_failure(message, error)
        else:
            message.status = OutgoingEmail.Status.SENT
            message.attempts += 1
            message.sent_at = timezone.now()
            message.last_error = ""
            message.body = ERASED  # it may carry one-time links: none kept once delivered
            message.save(update_fields=["status", "attempts", "sent_at", "last_error", "body"])
            sent += 1
    return sent


def _record_failure(message: OutgoingEmail, error: Exception) -> None:
    message.attempts += 1
    message.last_error = f"{type(error).__name__}: {error}"[:500]
    if message.attempts >= MAX_ATTEMPTS:
        message.status = OutgoingEmail.Status.FAILED
        message.body = ERASED
    message.next_attempt_at = timezone.now() + retry_delay(message.attempts)
    message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at", "body"])
    logger.warning(
        "Email %s to be retried (attempt %s): %s", message.pk, message.attempts, message.last_error
    )
