"""Support agents' side of a recovery case: looking, checking, vouching, deciding.

Every action is refused on the agent's own account and recorded as an audit event naming
actor, subject, case and reason, in the same transaction as the change.
"""

from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.chat import services as chat
from twostep.chat.models import Conversation
from twostep.mail.links import site_url
from twostep.mail.services import queue_email
from twostep.organizations.models import Membership
from twostep.text import one_line

from .cases import (
    case_conversation,
    lock_account,
    notify_support_message,
    open_or_join,
    record_case_event,
    send_links,
)
from .intake import FAILED, OPENED, UNVERIFIED_CLAIM
from .models import RecoveryCase, RecoveryRequest, Vouch
from .services import MANAGER_DENIED, RecoveryError, Status, close_case


def guard_agent(case: RecoveryCase, actor: User) -> None:
    if case.account_id is not None and case.account_id == actor.pk:
        raise RecoveryError("You cannot act on a case about your own account.")


def record_view(*, actor: User, case: RecoveryCase) -> None:
    record_case_event(SecurityEvent.Type.CASE_VIEWED, case=case, actor=actor)


def unverified_claims(case: RecoveryCase) -> list[RecoveryRequest]:
    """Every request on the case, the opening one included, that the owner has not confirmed
    as theirs, newest first: shown to support as claims with their channel and origin, never
    as the person's words."""
    return list(
        case.requests.filter(
            outcome__in=(OPENED, UNVERIFIED_CLAIM), verified_at__isnull=True
        ).order_by("-created_at", "-id")
    )


def failed_requests(*, limit: int = 50) -> list[RecoveryRequest]:
    """Requests the worker gave up on (intake.FAILED), newest first, for the console."""
    return list(RecoveryRequest.objects.filter(outcome=FAILED).order_by("-created_at")[:limit])


def verified_request(case: RecoveryCase) -> RecoveryRequest | None:
    """The request the owner confirmed as theirs, whose words are the case's; or None."""
    return case.requests.filter(verified_at__isnull=False).first()


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


def write_to_person(*, actor: User, case: RecoveryCase, body: str) -> None:
    """Support writes on the case; the person is emailed the case link (not the text).
    Raises RecoveryError on the agent's own case, MessageRefused for bad text."""
    guard_agent(case, actor)
    with transaction.atomic():
        chat.post(conversation=case_conversation(case), body=body, author=actor, from_support=True)
        notify_support_message(case)


def reply_in_conversation(*, actor: User, conversation: Conversation, body: str) -> None:
    """Support answers from the chat inbox: on a case's conversation as write_to_person
    does (the person is emailed the case link), otherwise chat.reply. Raises MessageRefused."""
    if conversation.case is None:
        chat.reply(agent=actor, conversation=conversation, body=body)
        return
    try:
        write_to_person(actor=actor, case=conversation.case, body=body)
    except RecoveryError as error:
        raise chat.MessageRefused(str(error)) from error


def open_case_from_chat(*, actor: User, conversation: Conversation, note: str) -> RecoveryCase:
    """Support opens a case for the person in a chat, or returns their open case. The case
    still needs the mailbox confirmation and the checklist: a chat message alone never
    resets anything. The account's row lock orders this with the intake (one open case)."""
    person = conversation.user
    if person is None:
        raise RecoveryError("This conversation already belongs to a case.")
    if person.pk == actor.pk:
        raise RecoveryError("You cannot open a case about your own account.")
    now = timezone.now()
    with transaction.atomic():
        lock_account(person.email)
        case, opened = open_or_join(account=person, source=RecoveryCase.Source.CHAT, now=now)
        if not opened:
            return case
        # The agent's note of what was said in the chat is a claim like any request: the
        # owner confirms it (or not) from their mailbox.
        RecoveryRequest.objects.create(
            source=RecoveryCase.Source.CHAT,
            claimed_email=person.email,
            explanation=note,
            sender=f"support chat #{conversation.pk}, noted by {actor.email}"[:300],
            outcome=OPENED,
            case=case,
            mailed_links=True,
            created_at=now,
        )
        record_case_event(
            SecurityEvent.Type.CHAT_CASE_OPENED,
            case=case,
            actor=actor,
            reason=note,
            conversation=conversation.pk,
        )
        send_links(case)
    return case


@dataclass(frozen=True)
class Comparison:
    """The claim beside the account, for the agent's case page."""

    name_matches: bool
    matched_organizations: list[str]
    unmatched_claims: list[str]
    other_memberships: list[Membership]


def _words(text: str) -> str:
    return " ".join(text.casefold().split())


def compare_claim(case: RecoveryCase) -> Comparison:
    memberships = (
        list(Membership.objects.filter(user=case.account).select_related("organization"))
        if case.account
        else []
    )
    claimed = [
        part.strip()
        for part in case.claimed_organizations.replace(";", "\n").replace(",", "\n").splitlines()
        if part.strip()
    ]
    by_name = {_words(m.organization.name): m for m in memberships}
    matched = [c for c in claimed if _words(c) in by_name]
    matched_keys = {_words(c) for c in matched}
    return Comparison(
        name_matches=bool(case.account)
        and _words(case.claimed_name) == _words(case.account.full_name if case.account else ""),
        matched_organizations=matched,
        unmatched_claims=[c for c in claimed if _words(c) not in by_name],
        other_memberships=[m for k, m in by_name.items() if k not in matched_keys],
    )
