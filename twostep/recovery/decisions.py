"""Support's decision on a case: approving a reset takes two people besides the owner, and
the cooling-off that follows is announced to everyone who could stop it.

The two people: the approving agent and a manager of one of the person's organizations
who vouched (confirmed); or, when no other manager of the person's organizations could
vouch, two different agents who each approve. Everything is decided on the case's locked
row, so a stale page or two agents at once cannot slip past it.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from twostep.accounts.models import User, normalize_email
from twostep.audit.models import SecurityEvent
from twostep.mail.services import queue_email

from .agents import guard_agent
from .cases import RecoveryError, Status, close_case, record_case_event
from .links import new_token, site_link
from .models import ManagerCancelLink, RecoveryCase, Vouch
from .pending import mark_owner_sessions
from .verification import vouch_candidates


def approve(*, actor: User, case: RecoveryCase, typed_email: str, reason: str) -> bool:
    """Approve the reset. Returns True when the cooling-off (TWOSTEP_RECOVERY_DELAY) starts,
    False when this was the first of two agents' approvals and a second agent must follow.

    Raises RecoveryError unless the case is in verification, its checklist is complete,
    every vouch asked for was answered and none denied, the agent typed the account's
    email, gave a reason, and either a manager other than the agent vouched, or no manager
    could vouch and this agent is not the one who approved first.
    """
    guard_agent(case, actor)
    now = timezone.now()
    with transaction.atomic():
        locked = RecoveryCase.objects.select_for_update(of=("self",)).get(pk=case.pk)
        _check(locked, actor=actor, typed_email=typed_email, reason=reason)
        account = case.account
        assert account is not None
        managers = {m.user_id for m in vouch_candidates(locked)}
        vouched = set(
            locked.vouches.filter(answer=Vouch.Answer.CONFIRMED, manager_id__in=managers)
            .exclude(manager=actor)
            .values_list("manager_id", flat=True)
        )
        if not vouched:
            if managers - {actor.pk}:
                raise RecoveryError(
                    _("A manager of the person's organizations must vouch first: ask one.")
                )
            if locked.first_approved_by_id == actor.pk:
                raise RecoveryError(_("You approved already: a second agent must approve."))
            if locked.first_approved_by_id is None:
                RecoveryCase.objects.filter(pk=locked.pk).update(
                    first_approved_by=actor, first_approved_at=now, updated_at=now
                )
                case.refresh_from_db()
                record_case_event(
                    SecurityEvent.Type.CASE_FIRST_APPROVAL, case=case, actor=actor, reason=reason
                )
                return False
        cancel, cancel_hash = new_token()
        RecoveryCase.objects.filter(pk=locked.pk).update(
            status=Status.APPROVED,
            approved_by=actor,
            approved_at=now,
            reset_due_at=now + timedelta(seconds=settings.TWOSTEP_RECOVERY_DELAY),
            cancel_token_hash=cancel_hash,
            updated_at=now,
        )
        case.refresh_from_db()
        record_case_event(
            SecurityEvent.Type.CASE_APPROVED,
            case=case,
            actor=actor,
            reason=reason,
            vouched_by=sorted(vouched),
            first_approved_by=case.first_approved_by_id,
        )
        queue_email(
            to=account.email,
            template="recovery_approved",
            context={
                "user": account,
                "case": case,
                "due": case.reset_due_at,
                "cancel_link": site_link("recovery:cancel", cancel),
            },
        )
        _tell_managers(case, manager_ids=managers, now=now)
        mark_owner_sessions(case)
    return True


def _check(locked: RecoveryCase, *, actor: User, typed_email: str, reason: str) -> None:
    if locked.status != Status.IN_VERIFICATION:
        raise RecoveryError("Only a case in verification can be approved.")
    if not locked.checklist_complete:
        raise RecoveryError("Complete the verification checklist first.")
    answers = set(locked.vouches.values_list("answer", flat=True))
    if Vouch.Answer.DENIED in answers:
        raise RecoveryError("A manager denied this person's identity.")
    if Vouch.Answer.PENDING in answers:
        raise RecoveryError("Wait for the manager's answer first.")
    assert locked.account is not None
    if normalize_email(typed_email) != locked.account.email:
        raise RecoveryError("Type the account's email address exactly to approve.")
    if not reason.strip():
        raise RecoveryError("Give the reason for approving.")


def _tell_managers(case: RecoveryCase, *, manager_ids: set[int], now: datetime) -> None:
    """Each manager of the person's organizations gets the news and a cancel link of
    their own: the owner's mailbox may be the attacker's."""
    for manager in User.objects.filter(pk__in=manager_ids, is_active=True).order_by("pk"):
        token, hashed = new_token()
        ManagerCancelLink.objects.create(
            case=case, manager=manager, token_hash=hashed, created_at=now
        )
        queue_email(
            to=manager.email,
            template="recovery_pending_manager",
            context={
                "manager": manager,
                "person": case.account,
                "due": case.reset_due_at,
                "cancel_link": site_link("recovery:cancel", token),
            },
        )


def reject(*, actor: User, case: RecoveryCase, reason: str) -> None:
    guard_agent(case, actor)
    if not case.is_open:
        raise RecoveryError("This case is already closed.")
    if not reason.strip():
        raise RecoveryError("Give the reason for rejecting.")
    close_case(
        case,
        status=Status.REJECTED,
        actor=actor,
        reason=reason,
        event=SecurityEvent.Type.CASE_REJECTED,
    )
