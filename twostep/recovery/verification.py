"""Support verifies who the person is: an agent takes the case, ticks the checklist, asks a
manager of the person's organizations to vouch; the manager answers.

Every action is refused on the agent's own account (agents.guard_agent) and recorded as an
audit event naming actor, subject, case and reason, in the same transaction as the change.
"""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.mail.links import site_url
from twostep.mail.services import queue_email
from twostep.organizations.models import Membership
from twostep.text import one_line

from .agents import guard_agent
from .cases import MANAGER_DENIED, RecoveryError, Status, close_case, record_case_event
from .models import RecoveryCase, Vouch


def record_view(*, actor: User, case: RecoveryCase) -> None:
    """An agent opened the case's page: who looked at a case is in its audit trail too."""
    record_case_event(SecurityEvent.Type.CASE_VIEWED, case=case, actor=actor)


def assign(*, actor: User, case: RecoveryCase) -> None:
    guard_agent(case, actor)
    with transaction.atomic():
        RecoveryCase.objects.filter(pk=case.pk).update(assignee=actor, updated_at=timezone.now())
        case.assignee = actor
        record_case_event(SecurityEvent.Type.CASE_ASSIGNED, case=case, actor=actor)


def update_checklist(
    *,
    actor: User,
    case: RecoveryCase,
    name_matches: bool,
    organizations_match: bool,
    evidence: str,
) -> None:
    """Record the agent's verification: what was checked and the evidence for it."""
    guard_agent(case, actor)
    if case.status != Status.IN_VERIFICATION:
        raise RecoveryError("Only a case in verification can be checked.")
    now = timezone.now()
    with transaction.atomic():
        # Conditional: a checklist form loaded before the approval must not untick an
        # approved case.
        updated = RecoveryCase.objects.filter(pk=case.pk, status=Status.IN_VERIFICATION).update(
            check_name=name_matches,
            check_organizations=organizations_match,
            evidence=evidence,
            verified_by=actor,
            # A first agent's approval was of the checklist as it stood: it lapses.
            first_approved_by=None,
            first_approved_at=None,
            updated_at=now,
        )
        if not updated:
            raise RecoveryError("Only a case in verification can be checked.")
        case.check_name = name_matches
        case.check_organizations = organizations_match
        case.evidence = evidence
        case.verified_by = actor
        case.updated_at = now
        record_case_event(
            SecurityEvent.Type.CASE_NOTE,
            case=case,
            actor=actor,
            reason=evidence,
            name_matches=name_matches,
            organizations_match=organizations_match,
        )


def vouch_candidates(case: RecoveryCase) -> list[Membership]:
    """Managers of the account's organizations who could vouch, the account itself excluded."""
    if case.account is None:
        return []
    org_ids = Membership.objects.filter(user=case.account).values("organization")
    return list(
        Membership.objects.filter(
            organization__in=org_ids, role=Membership.Role.MANAGER, user__is_active=True
        )
        .exclude(user=case.account)
        .select_related("user", "organization")
    )


def request_vouch(*, actor: User, case: RecoveryCase, membership: Membership) -> Vouch:
    guard_agent(case, actor)
    if case.status != Status.IN_VERIFICATION:
        raise RecoveryError("Vouching is asked for while the case is in verification.")
    if membership.pk not in {m.pk for m in vouch_candidates(case)}:
        raise RecoveryError("Only a manager of one of the person's organizations can vouch.")
    if membership.user_id == actor.pk:
        raise RecoveryError("Ask another manager: you cannot vouch on your own request.")
    with transaction.atomic():
        # The case row's lock orders this against approve(), which checks the vouches.
        locked = RecoveryCase.objects.select_for_update().get(pk=case.pk)
        if locked.status != Status.IN_VERIFICATION:
            raise RecoveryError("Vouching is asked for while the case is in verification.")
        vouch = Vouch.objects.create(
            case=case,
            manager=membership.user,
            organization=membership.organization,
            requested_by=actor,
            requested_at=timezone.now(),
        )
        record_case_event(
            SecurityEvent.Type.VOUCH_REQUESTED,
            case=case,
            actor=actor,
            manager=membership.user.email,
            organization=membership.organization.name,
        )
        queue_email(
            to=membership.user.email,
            template="vouch_request",
            context={
                "manager": membership.user,
                "person": case.account,
                # The name goes into the subject: one line, or the email is never sent.
                "person_name": one_line(case.account.full_name if case.account else ""),
                "organization": membership.organization,
                "link": site_url(reverse("recovery:vouch", kwargs={"pk": vouch.pk})),
            },
        )
    return vouch


def answer_vouch(*, manager: User, vouch: Vouch, confirmed: bool, comment: str) -> None:
    if vouch.manager_id != manager.pk:
        raise RecoveryError("This request was sent to another manager.")
    answer = Vouch.Answer.CONFIRMED if confirmed else Vouch.Answer.DENIED
    now = timezone.now()
    with transaction.atomic():
        # The case row's lock orders this against approve(), which checks the vouches.
        case = RecoveryCase.objects.select_for_update().get(pk=vouch.case_id)
        # Conditional: of two answers sent at once (two tabs, a double click) one counts.
        answered = Vouch.objects.filter(pk=vouch.pk, answer=Vouch.Answer.PENDING).update(
            answer=answer, comment=comment, answered_at=now
        )
        if not answered:
            raise RecoveryError("You have already answered this request.")
        vouch.answer, vouch.comment, vouch.answered_at = answer, comment, now
        record_case_event(
            SecurityEvent.Type.VOUCH_ANSWERED,
            case=case,
            actor=manager,
            reason=comment,
            answer=vouch.answer,
        )
        if not confirmed and case.status in (Status.IN_VERIFICATION, Status.APPROVED):
            # A denial stops the case, even one already approved and cooling off.
            close_case(
                case,
                status=Status.REJECTED,
                actor=manager,
                reason=MANAGER_DENIED,
                event=SecurityEvent.Type.CASE_REJECTED,
            )
