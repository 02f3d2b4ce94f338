"""Lockout recovery, the person's side: a request opens a case, the account's own mailbox
confirms it, and after support's approval (recovery.support) and a cooling-off period that
the owner can cut short by cancelling, the 2FA is removed.

Every step is an audit event naming actor, subject, case and reason, written in the same
transaction as the change.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from twostep.accounts.models import User, normalize_email
from twostep.accounts.sessions import end_all_sessions
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.chat.models import Conversation
from twostep.mail.services import queue_email
from twostep.mfa.models import TOTPDevice

from .models import RecoveryCase, RecoveryRequest, Vouch

Status = RecoveryCase.Status
# Requests per claimed address and per IP address within an hour.
MAX_REQUESTS_PER_EMAIL = 3
MAX_REQUESTS_PER_IP = 10
RATE_WINDOW = timedelta(hours=1)
MANAGER_DENIED = "a manager denied the person's identity"
UNVERIFIED_CLAIM = "unverified claim on the open case"
SAME_ANSWER = (
    "If this address belongs to an account, we have sent it a link to confirm the request."
)


class RecoveryError(Exception):
    """A support action that is not allowed in the case's state. The message says why."""


@dataclass(frozen=True)
class Claim:
    email: str
    name: str
    organizations: str
    explanation: str
    sender: str = ""  # an email's From header as received


def new_token() -> tuple[str, str]:
    """A fresh link token and the hash stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, _hash(token)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def site_link(name: str, token: str) -> str:
    return settings.TWOSTEP_SITE_URL.rstrip("/") + reverse(name, kwargs={"token": token})


def record_case_event(
    type: str, *, case: RecoveryCase, actor: Any, reason: str = "", **details: Any
):
    return record(
        type=type, subject=case.account, actor=actor, case=case.pk, reason=reason, **details
    )


def is_rate_limited(*, email: str, ip: str | None) -> bool:
    since = timezone.now() - RATE_WINDOW
    recent = RecoveryRequest.objects.filter(created_at__gte=since)
    if recent.filter(claimed_email=normalize_email(email)).count() >= MAX_REQUESTS_PER_EMAIL:
        return True
    return bool(ip) and recent.filter(ip=ip).count() >= MAX_REQUESTS_PER_IP


def submit_request(
    *, source: str, claim: Claim, ip: str | None = None, raw_message: str = ""
) -> RecoveryRequest:
    """Record a recovery request and open (or join) the account's case.

    Whatever happens, the person is told the same thing (SAME_ANSWER): an unknown address,
    a rate-limited request and a real one look alike from outside. A case only ever emails
    the account's own address, never the claimed sender. A request for an account whose case
    is already open is kept as an unverified claim (support sees it with its channel and
    origin); only the case link speaks as the person.
    """
    email = normalize_email(claim.email)
    now = timezone.now()
    with transaction.atomic():
        request = RecoveryRequest(
            source=source,
            claimed_email=email[:254],
            claimed_name=claim.name[:200],
            claimed_organizations=claim.organizations,
            explanation=claim.explanation,
            raw_message=raw_message,
            ip=ip,
            sender=claim.sender[:300],
            created_at=now,
        )
        # The account's row lock makes simultaneous requests for one account (a double
        # click, the form and an email at once) take turns, so each one's rate-limit count
        # and open-case lookup see the others' rows: one case, and no more than the limit.
        account = User.objects.select_for_update().filter(email=email, is_active=True).first()
        if is_rate_limited(email=email, ip=ip):
            request.outcome = "rate limited"
            request.save()
            return request
        if account is None:
            request.outcome = "no account for this address"
            request.save()
            return request
        case = (
            RecoveryCase.objects.select_for_update()
            .filter(account=account, status__in=RecoveryCase.OPEN)
            .first()
        )
        if case is None:
            case = open_case(account=account, source=source, claim=claim, now=now)
            request.outcome = "opened a case"
        else:
            # Not the owner's words: nothing shows this request proved the mailbox.
            RecoveryCase.objects.filter(pk=case.pk).update(updated_at=now)
            request.outcome = UNVERIFIED_CLAIM
        request.case = case
        request.save()
        if not case.mailbox_confirmed:
            send_links(case)
    return request


def open_case(*, account: User, source: str, claim: Claim, now) -> RecoveryCase:
    case = RecoveryCase.objects.create(
        account=account,
        source=source,
        status=Status.AWAITING_CONFIRMATION,
        claimed_email=account.email,
        claimed_name=claim.name[:200],
        claimed_organizations=claim.organizations,
        explanation=claim.explanation,
        created_at=now,
        updated_at=now,
    )
    Conversation.objects.create(case=case, created_at=now, updated_at=now)
    record_case_event(SecurityEvent.Type.RECOVERY_REQUESTED, case=case, actor=None, source=source)
    return case


def case_conversation(case: RecoveryCase) -> Conversation:
    conversation, _ = Conversation.objects.get_or_create(
        case=case, defaults={"created_at": timezone.now(), "updated_at": timezone.now()}
    )
    return conversation


def send_links(case: RecoveryCase) -> None:
    """Mail fresh confirmation and case links to the account's own address."""
    assert case.account is not None
    confirm, case.confirm_token_hash = new_token()
    access, case.access_token_hash = new_token()
    case.save(update_fields=["confirm_token_hash", "access_token_hash"])
    queue_email(
        to=case.account.email,
        template="recovery_confirm",
        context={
            "user": case.account,
            "case": case,
            "confirm_link": site_link("recovery:confirm", confirm),
            "case_link": site_link("recovery:case", access),
        },
    )


def case_by_link(*, token: str, purpose: str) -> RecoveryCase | None:
    """The case a mailed link opens ("confirm", "access" or "cancel"), or None."""
    if not token or len(token) > 100:
        return None
    field = {
        "confirm": "confirm_token_hash",
        "access": "access_token_hash",
        "cancel": "cancel_token_hash",
    }[purpose]
    return RecoveryCase.objects.select_related("account").filter(**{field: _hash(token)}).first()


def confirm_mailbox(*, case: RecoveryCase) -> None:
    """The account's mailbox opened the link: the request is really from its owner's inbox."""
    with transaction.atomic():
        locked = RecoveryCase.objects.select_for_update().get(pk=case.pk)
        if locked.mailbox_confirmed or not locked.is_open:
            return
        now = timezone.now()
        locked.mailbox_confirmed_at = now
        locked.confirm_token_hash = ""
        if locked.status in (Status.NEW, Status.AWAITING_CONFIRMATION):
            locked.status = Status.IN_VERIFICATION
        locked.updated_at = now
        locked.save()
        record_case_event(SecurityEvent.Type.RECOVERY_MAILBOX_CONFIRMED, case=locked, actor=None)
    case.refresh_from_db()


def cancel(*, case: RecoveryCase, reason: str, actor: Any = None) -> bool:
    """The owner (cancel link, or a login with 2FA) stops a case. Returns whether it did."""
    return close_case(
        case,
        status=Status.CANCELLED,
        actor=actor,
        reason=reason,
        event=SecurityEvent.Type.CASE_CANCELLED,
    )


def close_case(case: RecoveryCase, *, status: str, actor: Any, reason: str, event: str) -> bool:
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
            record_case_event(event, case=case, actor=actor, reason=reason)
    return bool(closed)


def cancel_on_login(*, user: User) -> int:
    """A login with the second factor proves the owner still has it: stop pending resets."""
    cases = RecoveryCase.objects.filter(account=user, status=Status.APPROVED)
    return sum(
        cancel(case=case, reason="the owner logged in with 2FA", actor=user) for case in cases
    )


def perform_due_resets() -> int:
    """Carry out approved resets whose cooling-off has passed. Returns how many."""
    done = 0
    due = RecoveryCase.objects.filter(status=Status.APPROVED, reset_due_at__lte=timezone.now())
    for pk in due.values_list("pk", flat=True):
        done += _perform_reset(pk)
    return done


def _perform_reset(pk: int) -> bool:
    now = timezone.now()
    with transaction.atomic():
        # Lock the case row only: PostgreSQL refuses FOR UPDATE on the nullable side of
        # the outer joins that select_related makes for account and approved_by.
        case = (
            RecoveryCase.objects.select_for_update(of=("self",))
            .select_related("account", "approved_by")
            .filter(pk=pk, status=Status.APPROVED, reset_due_at__lte=now)
            .first()
        )
        if case is None or case.account is None:  # cancelled meanwhile
            return False
        if case.vouches.filter(answer=Vouch.Answer.DENIED).exists():
            # answer_vouch() closes such a case; never reset one that slipped through.
            close_case(
                case,
                status=Status.REJECTED,
                actor=None,
                reason=MANAGER_DENIED,
                event=SecurityEvent.Type.CASE_REJECTED,
            )
            return False
        account = case.account
        TOTPDevice.objects.filter(user=account).delete()
        sessions = end_all_sessions(account)
        User.objects.filter(pk=account.pk).update(mfa_reset_at=now)
        case.status, case.closed_at, case.updated_at = Status.DONE, now, now
        case.cancel_token_hash = ""
        case.save(update_fields=["status", "closed_at", "updated_at", "cancel_token_hash"])
        record(
            type=SecurityEvent.Type.MFA_RESET,
            subject=account,
            actor=case.approved_by,
            case=case.pk,
            reason="approved recovery case, cooling-off passed",
            sessions_ended=sessions,
        )
        queue_email(
            to=account.email,
            template="recovery_done",
            context={
                "user": account,
                "case": case,
                "login_link": settings.TWOSTEP_SITE_URL.rstrip("/") + reverse("accounts:login"),
            },
        )
    return True
