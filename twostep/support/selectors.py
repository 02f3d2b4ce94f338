"""What the console reads: the queue, the claims on a case beside the account, the chat
inbox and the account summary beside a conversation. Nothing here writes."""

from dataclasses import dataclass

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import recent_for
from twostep.chat.models import Conversation, Message
from twostep.mfa.factors import second_factor_on
from twostep.mfa.summary import Methods, methods_of
from twostep.organizations.models import Membership
from twostep.recovery.intake import FAILED, OPENED, UNVERIFIED_CLAIM
from twostep.recovery.models import RecoveryCase, RecoveryRequest

QUEUE_FILTERS = {
    "open": RecoveryCase.OPEN,
    **{status.value: (status,) for status in RecoveryCase.Status},
}
QUEUE_LENGTH = 200
SUMMARY_EVENTS = 5


def queue(selected: str) -> QuerySet[RecoveryCase]:
    """The cases of the queue filter `selected` (an unknown one: the open cases), oldest
    first."""
    statuses = QUEUE_FILTERS.get(selected, RecoveryCase.OPEN)
    flagged = RecoveryRequest.objects.filter(case=OuterRef("pk"), email_change__isnull=False)
    return (
        RecoveryCase.objects.filter(status__in=statuses)
        .select_related("account", "assignee")
        .annotate(email_change_flag=Exists(flagged))
        .order_by("created_at")[:QUEUE_LENGTH]
    )


def email_change_flags(case: RecoveryCase) -> list[RecoveryRequest]:
    """The case's requests sent from the old or new address within 7 days of an email change
    of the account (recovery.email_watch), with their change, newest first."""
    flagged = case.requests.filter(email_change__isnull=False).select_related("email_change")
    return list(flagged.order_by("-created_at", "-id"))


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


def inbox() -> QuerySet[Conversation]:
    """Conversations with at least one message, those waiting for support first, then by
    last activity; each with its person or case and `last_body` (the latest message)."""
    latest = Message.objects.filter(conversation=OuterRef("pk")).order_by("-id")
    return (
        Conversation.objects.filter(Exists(latest))
        .select_related("user", "case")
        .annotate(last_body=Subquery(latest.values("body")[:1]))
        .order_by("-needs_reply", "-updated_at", "-id")
    )


def conversation(pk: int) -> Conversation:
    """The conversation with its person and its case, if any, or Http404."""
    return get_object_or_404(Conversation.objects.select_related("user", "case"), pk=pk)


def case_of(conversation: Conversation) -> RecoveryCase | None:
    """The recovery case whose conversation this is (read with select_related("case")), or
    None: a person's own."""
    try:
        return conversation.case
    except ObjectDoesNotExist:
        return None


@dataclass(frozen=True)
class AccountSummary:
    """What support sees of a person beside their conversation."""

    user: User
    memberships: list[Membership]
    mfa_enabled: bool
    methods: Methods
    recent_events: list[SecurityEvent]
    open_cases: list[RecoveryCase]


def account_summary(*, user: User) -> AccountSummary:
    return AccountSummary(
        user=user,
        memberships=list(Membership.objects.filter(user=user).select_related("organization")),
        mfa_enabled=second_factor_on(user),
        methods=methods_of(user),
        recent_events=recent_for(user, limit=SUMMARY_EVENTS),
        open_cases=list(RecoveryCase.objects.filter(account=user, status__in=RecoveryCase.OPEN)),
    )
