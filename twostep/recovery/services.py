"""Lockout recovery, the person's side: a request opens a case, the account's own mailbox
confirms it, and after support's approval (recovery.support) and a cooling-off period that
the owner can cut short by cancelling, the 2FA is removed.

Every step is an audit event naming actor, subject, case and reason, written in the same
transaction as the change.
"""

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

from .links import case_link_token, site_link, token_hash
from .models import ManagerCancelLink, RecoveryCase, RecoveryRequest, Vouch
from .pending import clear_owner_sessions

Status = RecoveryCase.Status
# Requests from one client IP (the form) within RATE_WINDOW that are acted on; more are
# recorded as "rate limited" and do nothing else.
MAX_REQUESTS_PER_IP = 10
# Copies of an open case's links mailed to the account within RATE_WINDOW (the first
# included), and unverified claims kept on an open case within RATE_WINDOW.
MAX_LINK_MAILS_PER_CASE = 3
MAX_CLAIMS_PER_CASE = 20
RATE_WINDOW = timedelta(hours=1)
MANAGER_DENIED = "a manager denied the person's identity"
UNVERIFIED_CLAIM = "unverified claim on the open case"
RATE_LIMITED = "rate limited"
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


def record_case_event(
    type: str, *, case: RecoveryCase, actor: Any, reason: str = "", **details: Any
):
    return record(
        type=type, subject=case.account, actor=actor, case=case.pk, reason=reason, **details
    )


def _ip_rate_limited(ip: str | None, *, since) -> bool:
    recent = RecoveryRequest.objects.filter(created_at__gte=since, ip=ip)
    return bool(ip) and recent.exclude(outcome=RATE_LIMITED).count() >= MAX_REQUESTS_PER_IP


def submit_request(
    *, source: str, claim: Claim, ip: str | None = None, raw_message: str = ""
) -> RecoveryRequest:
    """Record a recovery request and open the account's case, or add it to the open one as
    an unverified claim.

    Whatever happens, the person is told the same thing (SAME_ANSWER): an unknown address,
    a rate-limited request and a real one look alike from outside. A case only ever emails
    the account's own address, never the claimed sender. Only the case link speaks as the
    person: support sees a request for an open case as a claim with its channel and origin.

    Why nobody can use up the owner's quota: nothing is counted per claimed address, since
    anyone can claim one. A request for an account with no open case always opens one and
    mails its links (one open case per account: a new one needs support or the owner to
    close the last). For an open case, the links mailed are always the same ones
    (case_link_token), so a repeated request never invalidates what the owner holds; it
    re-mails them at most MAX_LINK_MAILS_PER_CASE times an hour, and exhausting that only
    means the owner's inbox already holds working links. What is counted is each origin:
    a client IP gets MAX_REQUESTS_PER_IP acted-on requests an hour (the owner behind the
    same IP still holds the links, and can email support), and a case keeps at most
    MAX_CLAIMS_PER_CASE unverified claims an hour, so a flood is not support's reading.
    """
    email = normalize_email(claim.email)
    now = timezone.now()
    since = now - RATE_WINDOW
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
        # click, the form and an email at once) take turns, so each one's counts and
        # open-case lookup see the others' rows: one case, and no more than the limits.
        account = User.objects.select_for_update().filter(email=email, is_active=True).first()
        if _ip_rate_limited(ip, since=since):
            request.outcome = RATE_LIMITED
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
            request.case = open_case(account=account, source=source, claim=claim, now=now)
            request.outcome = "opened a case"
        elif case.requests.filter(created_at__gte=since, outcome=UNVERIFIED_CLAIM).count() < (
            MAX_CLAIMS_PER_CASE
        ):
            # Not the owner's words: nothing shows this request proved the mailbox.
            RecoveryCase.objects.filter(pk=case.pk).update(updated_at=now)
            request.case, request.outcome = case, UNVERIFIED_CLAIM
        else:
            request.case, request.outcome = case, RATE_LIMITED
        target = request.case
        request.mailed_links = not target.mailbox_confirmed and (
            target.requests.filter(created_at__gte=since, mailed_links=True).count()
            < MAX_LINK_MAILS_PER_CASE
        )
        request.save()
        if request.mailed_links:
            send_links(target)
    return request


def open_case(*, account: User, source: str, claim: Claim, now) -> RecoveryCase:
    case = RecoveryCase.objects.create(
        account=account,
        link_salt=secrets.token_hex(16),
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
    never the text (the mailbox may be read by someone else; the page is the channel)."""
    if case.account is None:
        return
    queue_email(
        to=case.account.email,
        template="recovery_support_message",
        context={"user": case.account, "case": case, "case_link": _current_link(case, "access")},
    )


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
            ManagerCancelLink.objects.filter(case=case).delete()
            if case.account is not None:
                clear_owner_sessions(case.account)
            record_case_event(event, case=case, actor=actor, reason=reason)
    return bool(closed)


def cancel_pending_reset(*, user: User) -> int:
    """The owner, from a logged-in session, stops the approved reset(s) of their account.
    Returns how many were cancelled; the pending-reset note leaves their sessions."""
    cases = RecoveryCase.objects.filter(account=user, status=Status.APPROVED)
    cancelled = sum(
        cancel(case=case, reason="cancelled by the owner from a logged-in session", actor=user)
        for case in cases
    )
    if not cancelled:
        clear_owner_sessions(user)
    return cancelled


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
        ManagerCancelLink.objects.filter(case=case).delete()
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
