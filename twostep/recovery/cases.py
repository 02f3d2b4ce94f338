"""A recovery case's making and its mail: opening one, its conversation, its links mailed
to the account's own address. Shared by the intake (requests), support and the services."""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.chat.models import Conversation
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import queue_email

from .links import CASE_LINK_DAYS_AFTER_CLOSE, case_link_token, site_link, token_hash
from .models import RecoveryCase

# At most one "support wrote on your case" email per case within this interval.
NOTICE_INTERVAL = timedelta(minutes=15)


@dataclass(frozen=True)
class Claim:
    email: str
    name: str
    organizations: str
    explanation: str
    sender: str = ""  # an email's From header as received


def record_case_event(
    type: str, *, case: RecoveryCase, actor: Any, reason: str = "", **details: Any
):
    return record(
        type=type, subject=case.account, actor=actor, case=case.pk, reason=reason, **details
    )


def open_case(*, account: User, source: str, now) -> RecoveryCase:
    """A new case for `account`, awaiting its mailbox. It holds none of the request's words:
    they are a claim until the owner confirms the request (services.confirm_mailbox)."""
    case = RecoveryCase.objects.create(
        account=account,
        link_salt=secrets.token_hex(16),
        source=source,
        status=RecoveryCase.Status.AWAITING_CONFIRMATION,
        claimed_email=account.email,
        created_at=now,
        updated_at=now,
    )
    Conversation.objects.create(case=case, created_at=now, updated_at=now)
    record_case_event(SecurityEvent.Type.RECOVERY_REQUESTED, case=case, actor=None, source=source)
    return case


def open_or_join(*, account: User, source: str, now) -> tuple[RecoveryCase, bool]:
    """The account's open case, locked, or a new one: (case, whether this opened it).

    Callers first lock the account's row (lock_account), so requests for one account take
    turns; the constraint one_open_case_per_account backs that up: should another path
    open a case meanwhile, the IntegrityError means this joins that case.
    """
    open_cases = RecoveryCase.objects.select_for_update().filter(
        account=account, status__in=RecoveryCase.OPEN
    )
    existing = open_cases.first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return open_case(account=account, source=source, now=now), True
    except IntegrityError:
        return open_cases.get(), False


def lock_account(email: str) -> User | None:
    """The active account with this address, its row locked until the transaction ends."""
    return User.objects.select_for_update().filter(email=email, is_active=True).first()


def case_conversation(case: RecoveryCase) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        case=case, defaults={"created_at": timezone.now(), "updated_at": timezone.now()}
    )
    return conversation


def _current_link(case: RecoveryCase, purpose: str) -> str:
    """The case's derived link for `purpose`, its hash stored if it was not yet."""
    token = case_link_token(case, purpose)
    field = f"{purpose}_token_hash"
    if getattr(case, field) != token_hash(token):
        RecoveryCase.objects.filter(pk=case.pk).update(**{field: token_hash(token)})
        setattr(case, field, token_hash(token))
    return site_link(f"recovery:{'case' if purpose == 'access' else purpose}", token)


def send_links(case: RecoveryCase) -> None:
    """Mail the case's confirmation and case links to the account's own address: the same
    links every time, so copies never invalidate one another."""
    assert case.account is not None
    queue_email(
        to=case.account.email,
        template="recovery_confirm",
        context={
            "user": case.account,
            "case": case,
            "confirm_link": _current_link(case, "confirm"),
            "case_link": _current_link(case, "access"),
        },
    )


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


def _notice(locked: RecoveryCase, *, now) -> bool:
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
            "case_link": _current_link(locked, "access"),
        },
    )
    _set_notice(
        locked, support_notice_at=now, support_notice_email=email, support_notice_pending=False
    )
    return True


def _set_notice(locked: RecoveryCase, **fields: Any) -> None:
    if any(getattr(locked, name) != value for name, value in fields.items()):
        RecoveryCase.objects.filter(pk=locked.pk).update(**fields)
