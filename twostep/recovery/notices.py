"""Support writing on a case, and the person told of it: the account's own address gets
the case link (never the text), at most once per NOTICE_INTERVAL."""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from twostep.accounts.models import User
from twostep.chat import services as chat
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import queue_email

from .agents import guard_agent
from .cases import current_link
from .links import CASE_LINK_DAYS_AFTER_CLOSE
from .models import RecoveryCase

# At most one "support wrote on your case" email per case within this interval.
NOTICE_INTERVAL = timedelta(minutes=15)


def write_to_person(*, actor: User, case: RecoveryCase, body: str) -> None:
    """Support writes on the case; the person is emailed the case link (not the text).
    Raises RecoveryError on the agent's own case, MessageRefused for bad text."""
    guard_agent(case, actor)
    with transaction.atomic():
        chat.post(conversation=case.conversation, body=body, author=actor, from_support=True)
        notify_support_message(case)


def notify_support_message(case: RecoveryCase) -> None:
    """Tell the account's own address that support wrote on the case: the case link only,
    never the text (the mailbox may be read by someone else; the page is the channel).

    At most one such email per case per NOTICE_INTERVAL: a message within it marks the
    notice pending, for the worker to send when the interval ends (send_pending_notices).
    None while the last one is still unsent (it announces this message too), and none once
    the case link has expired. Call inside a transaction: the case row is locked so two
    messages at once mail once.
    """
    if case.account is None:
        return
    locked = (
        RecoveryCase.objects.select_for_update(of=("self",))
        .select_related("account")
        .get(pk=case.pk)
    )
    _notice(locked, now=timezone.now())


def send_pending_notices() -> int:
    """The worker's part: send the notices that waited for their interval to end. Returns
    how many were sent."""
    now = timezone.now()
    due = RecoveryCase.objects.filter(support_notice_pending=True).exclude(
        support_notice_at__gt=now - NOTICE_INTERVAL
    )
    sent = 0
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            locked = (
                RecoveryCase.objects.select_for_update(of=("self",))
                .select_related("account")
                .get(pk=pk)
            )
            if locked.support_notice_pending:
                sent += _notice(locked, now=now)
    return sent


def _notice(locked: RecoveryCase, *, now: datetime) -> bool:
    """Queue the notice for the locked case now, mark it pending, or drop it; whether sent."""
    if locked.account is None or (
        locked.closed_at and locked.closed_at <= now - timedelta(days=CASE_LINK_DAYS_AFTER_CLOSE)
    ):
        _set_notice(locked, support_notice_pending=False)  # the case link no longer works
        return False
    last = locked.support_notice_email_id
    if last and OutgoingEmail.objects.filter(pk=last, status=OutgoingEmail.Status.QUEUED).exists():
        _set_notice(locked, support_notice_pending=False)  # the unsent one says it all
        return False
    if locked.support_notice_at and locked.support_notice_at > now - NOTICE_INTERVAL:
        _set_notice(locked, support_notice_pending=True)
        return False
    email = queue_email(
        to=locked.account.email,
        template="recovery_support_message",
        context={
            "user": locked.account,
            "case": locked,
            "case_link": current_link(locked, "access"),
        },
    )
    _set_notice(
        locked, support_notice_at=now, support_notice_email=email, support_notice_pending=False
    )
    return True


def _set_notice(locked: RecoveryCase, **fields: Any) -> None:
    if any(getattr(locked, name) != value for name, value in fields.items()):
        RecoveryCase.objects.filter(pk=locked.pk).update(**fields)
