"""A recovery case's making and closing: opening one with its conversation, its links mailed
to the account's own address, closing it. Shared by every stage of the case."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.chat.services import new_case_conversation
from twostep.mail.services import queue_email

from .links import case_link_token, site_link, token_hash
from .models import ManagerCancelLink, RecoveryCase
from .pending import clear_owner_sessions

Status = RecoveryCase.Status
MANAGER_DENIED = "a manager denied the person's identity"


class RecoveryError(Exception):
    """A support action that is not allowed in the case's state. The message says why."""


@dataclass(frozen=True)
class Claim:
    email: str
    name: str
    organizations: str
    explanation: str
    sender: str = ""  # an email's From header as received


def record_case_event(
    type: str, *, case: RecoveryCase, actor: User | None, reason: str = "", **details: Any
) -> SecurityEvent:
    return record(
        type=type, subject=case.account, actor=actor, case=case.pk, reason=reason, **details
    )


def open_case(*, account: User, source: str, now: datetime) -> RecoveryCase:
    """A new case for `account`, awaiting its mailbox, with its own conversation. It holds
    none of the request's words: they are a claim until the owner confirms the request
    (confirmation.confirm_mailbox)."""
    case = RecoveryCase.objects.create(
        account=account,
        link_salt=secrets.token_hex(16),
        source=source,
        status=Status.AWAITING_CONFIRMATION,
        claimed_email=account.email,
        conversation=new_case_conversation(now=now),
        created_at=now,
        updated_at=now,
    )
    record_case_event(SecurityEvent.Type.RECOVERY_REQUESTED, case=case, actor=None, source=source)
    return case


def open_or_join(*, account: User, source: str, now: datetime) -> tuple[RecoveryCase, bool]:
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


def close_case(
    case: RecoveryCase, *, status: str, actor: User | None, reason: str, event: str
) -> bool:
    """Close an open case with `status`, recording `event`; False when it was closed
    already. Its links stop working and the owner's sessions lose the pending-reset note."""
    now = timezone.now()
    with transaction.atomic():
        closed = RecoveryCase.objects.filter(pk=case.pk, status__in=RecoveryCase.OPEN).update(
            status=status,
            closed_at=now,
            close_reason=reason,
            updated_at=now,
            cancel_token_hash="",
            confirm_token_hash="",
        )
        if closed:
            case.refresh_from_db()
            ManagerCancelLink.objects.filter(case=case).delete()
            if case.account is not None:
                clear_owner_sessions(case.account)
            record_case_event(event, case=case, actor=actor, reason=reason)
    return bool(closed)


def current_link(case: RecoveryCase, purpose: str) -> str:
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
            "confirm_link": current_link(case, "confirm"),
            "case_link": current_link(case, "access"),
        },
    )
