"""Lockout recovery, the person's side: a request opens a case, the account's own mailbox
confirms it, and after support's approval (recovery.support) and a cooling-off period that
the owner can cut short by cancelling, the 2FA is removed.

Every step is an audit event naming actor, subject, case and reason, written in the same
transaction as the change.
"""

from typing import Any

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from twostep.accounts.models import User
from twostep.accounts.sessions import end_all_sessions
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.links import site_url
from twostep.mail.services import queue_email
from twostep.mfa.factors import remove_factors

from . import attempts
from .cases import record_case_event, send_pending_notices
from .intake import OPENED, UNVERIFIED_CLAIM, process_requests
from .models import ManagerCancelLink, RecoveryCase, RecoveryRequest, Vouch
from .pending import clear_owner_sessions

Status = RecoveryCase.Status
MANAGER_DENIED = "a manager denied the person's identity"
NOT_THE_OWNER = "the owner said the request was not theirs (confirm link)"


class RecoveryError(Exception):
    """A support action that is not allowed in the case's state. The message says why."""


def confirm_mailbox(
    *, case: RecoveryCase, request_id: int | None, none_of_these: bool = False
) -> None:
    """The account's mailbox opened the confirm link and its owner said which request is
    theirs (`request_id`, any request the case kept, shown or not): its words become the
    person's (name, organizations, explanation); the others stay claims. With
    `none_of_these`, the mailbox is confirmed and no request's words are adopted (the owner
    then writes through the case link). `request_id` may be None only for a case with no
    request. Raises RecoveryError for a request that is not one of the case's."""
    with transaction.atomic():
        locked = RecoveryCase.objects.select_for_update().get(pk=case.pk)
        if locked.mailbox_confirmed or not locked.is_open:
            return
        if locked.account_id is None:
            raise RecoveryError(gettext("This link is invalid or no longer works."))
        chosen = None
        if not none_of_these:
            kept = locked.requests.filter(outcome__in=(OPENED, UNVERIFIED_CLAIM))
            chosen = kept.filter(pk=request_id).first() if request_id is not None else None
            if chosen is None and (request_id is not None or kept.exists()):
                raise RecoveryError(gettext("Choose the request that is yours."))
        now = timezone.now()
        if chosen is not None:
            RecoveryRequest.objects.filter(pk=chosen.pk).update(verified_at=now)
            locked.claimed_name = chosen.claimed_name
            locked.claimed_organizations = chosen.claimed_organizations
            locked.explanation = chosen.explanation
        locked.mailbox_confirmed_at = now
        locked.confirm_token_hash = ""
        if locked.status in (Status.NEW, Status.AWAITING_CONFIRMATION):
            locked.status = Status.IN_VERIFICATION
        locked.updated_at = now
        locked.save()
        record_case_event(
            SecurityEvent.Type.RECOVERY_MAILBOX_CONFIRMED,
            case=locked,
            actor=None,
            confirmed_request=chosen.pk if chosen else None,
            words_adopted=chosen is not None,
        )
    case.refresh_from_db()


def disown(*, case: RecoveryCase) -> bool:
    """The owner, through the confirm link, says the request was not theirs: the case is
    cancelled in their name and they are emailed. Returns whether it was still open (False
    too for a case whose account is gone: nobody is left to speak for)."""
    if case.account is None:
        return False
    with transaction.atomic():
        cancelled = close_case(
            case,
            status=Status.CANCELLED,
            actor=case.account,
            reason=NOT_THE_OWNER,
            event=SecurityEvent.Type.CASE_CANCELLED,
        )
        if cancelled:
            queue_email(
                to=case.account.email,
                template="recovery_disowned",
                context={"user": case.account, "case": case},
            )
    return cancelled


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
    """The worker's recovery pass: act on received requests (intake.process_requests),
    then carry out approved resets whose cooling-off has passed, then send the support
    notices that waited for their interval (cases.send_pending_notices). Returns how many
    resets.
    Each stage runs even when the other raised; the first error is raised at the end."""
    errors: list[Exception] = []
    done = 0
    try:
        process_requests()
    except Exception as error:  # noqa: BLE001 - re-raised below, after the resets
        errors.append(error)
    try:
        due = RecoveryCase.objects.filter(
            status=Status.APPROVED,
            reset_due_at__lte=timezone.now(),
            reset_failures__lt=attempts.MAX_ATTEMPTS,
        )
        pks = list(due.values_list("pk", flat=True))
        done = attempts.each(pks, _perform_reset, failed=_reset_failed, what="due reset of case")
    except Exception as error:  # noqa: BLE001 - re-raised below
        errors.append(error)
    try:
        send_pending_notices()
    except Exception as error:  # noqa: BLE001 - re-raised below
        errors.append(error)
    if errors:
        raise errors[0]
    return done


def _reset_failed(pk: int) -> None:
    RecoveryCase.objects.filter(pk=pk).update(reset_failures=F("reset_failures") + 1)


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
        remove_factors(account)
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
                "login_link": site_url(reverse("login:login")),
            },
        )
    return True
