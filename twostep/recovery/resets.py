"""The reset and what stops it: after support's approval (decisions.approve) and a
cooling-off period, the worker removes the person's factors (mfa.factors.remove_factors);
until then the owner can cancel, from the mailed link, a logged-in page, or by logging in
with the second factor.

Every step is an audit event naming actor, subject, case and reason, written in the same
transaction as the change.
"""

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from twostep.accounts.email_change import void_pending
from twostep.accounts.models import User
from twostep.accounts.sessions import end_all_sessions
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.links import site_url
from twostep.mail.services import queue_email
from twostep.mfa.factors import remove_factors

from . import attempts
from .cases import MANAGER_DENIED, Status, close_case
from .intake import process_requests
from .models import ManagerCancelLink, RecoveryCase, Vouch
from .notices import send_pending_notices
from .pending import clear_owner_sessions


def cancel(*, case: RecoveryCase, reason: str, actor: User | None = None) -> bool:
    """The owner (cancel link, or a login with 2FA) stops a case. Returns whether it did."""
    return close_case(
        case,
        status=Status.CANCELLED,
        actor=actor,
        reason=reason,
        event=SecurityEvent.Type.CASE_CANCELLED,
    )


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


def cancel_on_login(*, user: User, reason: str = "the owner logged in with 2FA") -> int:
    """A login with the second factor (or "confirm it's you" with it) proves the owner
    still has it: stop pending resets."""
    cases = RecoveryCase.objects.filter(account=user, status=Status.APPROVED)
    return sum(cancel(case=case, reason=reason, actor=user) for case in cases)


def perform_due_resets() -> int:
    """The worker's recovery pass: act on received requests (intake.process_requests),
    then carry out approved resets whose cooling-off has passed, then send the support
    notices that waited for their interval (notices.send_pending_notices). Returns how many
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
        remove_factors(account, reason="support reset")
        sessions = end_all_sessions(account)
        User.objects.filter(pk=account.pk).update(mfa_reset_at=now)
        void_pending(user=account, request=None, reason="support reset")
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
