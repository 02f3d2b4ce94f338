"""Recovery requests coming in (the form, an email to support) and the worker acting on them.

A request is only recorded while the client waits: the same statements, whatever the
address, so neither the answer nor its timing says whether an account exists. The worker
(process_requests) then opens the account's case, or adds the request to the open case as
an unverified claim, and mails the links.

Why nobody can use up the owner's quota: nothing is counted per claimed address, since
anyone can claim one. A request for an account with no open case always opens one and
mails its links (one open case per account: a new one needs support or the owner to close
the last). An open case's links are always the same (links.case_link_token), so a repeated
request never invalidates what the owner holds; it re-mails them at most
MAX_LINK_MAILS_PER_CASE times an hour, and exhausting that only means the owner's inbox
already holds working links. What is counted is each origin: a client IP gets
MAX_REQUESTS_PER_IP requests an hour (the owner behind the same IP still holds the links,
and can email support), and a case keeps at most MAX_CLAIMS_PER_CASE unverified claims an
hour, so a flood is not support's reading; those refused past it are kept cut short and
counted for support by origin (refused_claims). The owner may confirm any request the case
kept, shown on the confirm page or not, or confirm the mailbox without adopting any
request's words (confirmation.confirm_mailbox).
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from twostep.accounts.models import User, normalize_email
from twostep.audit.models import SecurityEvent
from twostep.chat.models import Conversation

from . import attempts, email_watch
from .agents import may_act_on
from .cases import Claim, RecoveryError, lock_account, open_or_join, record_case_event, send_links
from .models import RecoveryCase, RecoveryRequest

# Requests from one client IP within RATE_WINDOW that are acted on; more are recorded as
# "rate limited" and do nothing else.
MAX_REQUESTS_PER_IP = 10
# Copies of an open case's links mailed to the account within RATE_WINDOW (the first
# included), and unverified claims kept on an open case within RATE_WINDOW.
MAX_LINK_MAILS_PER_CASE = 3
MAX_CLAIMS_PER_CASE = 20
RATE_WINDOW = timedelta(hours=1)
RECEIVED = "received"
OPENED = "opened a case"
UNVERIFIED_CLAIM = "unverified claim on the open case"
RATE_LIMITED = "rate limited"
FAILED = "error: the worker failed on it 3 times"
CLAIMS_LIMITED = "refused: too many claims on the case this hour"
# What is kept of each text field of a refused request: enough to see what it was, too
# little for a flood to fill the disk.
REFUSED_TEXT_LIMIT = 500
SAME_ANSWER = (
    "If this address belongs to an account, we have sent it a link to confirm the request."
)


def submit_request(
    *, source: str, claim: Claim, ip: str | None = None, raw_message: str = ""
) -> RecoveryRequest:
    """Record a recovery request for the worker (process_requests) to act on.

    Whatever the address, the same statements run and the person is told the same thing
    (SAME_ANSWER). Only the per-origin limit is judged here (per IP, or for all requests
    with no client address together); it marks the request "rate
    limited", stored cut short (REFUSED_TEXT_LIMIT), which the worker leaves alone.
    """
    now = timezone.now()
    request = RecoveryRequest(
        source=source,
        claimed_email=normalize_email(claim.email)[:254],
        claimed_name=claim.name[:200],
        claimed_organizations=claim.organizations,
        explanation=claim.explanation,
        raw_message=raw_message,
        ip=ip,
        sender=claim.sender[:300],
        outcome=RECEIVED,
        created_at=now,
    )
    with transaction.atomic():
        # Requests with no client address (mail through our relay, the pipe command) share
        # one hourly limit, TWOSTEP_RECOVERY_NO_IP_PER_HOUR.
        _lock_origin(ip or "no address")
        # Every request from the origin counts but those it was refused: a request the
        # worker refused for its case was still acted on.
        recent = RecoveryRequest.objects.filter(created_at__gte=now - RATE_WINDOW)
        if ip:
            recent, limit = recent.filter(ip=ip), MAX_REQUESTS_PER_IP
        else:
            recent = recent.filter(ip__isnull=True).exclude(source=RecoveryCase.Source.CHAT)
            limit = settings.TWOSTEP_RECOVERY_NO_IP_PER_HOUR
        if recent.exclude(outcome=RATE_LIMITED).count() >= limit:
            request.outcome = RATE_LIMITED
            _cut_short(request)
        request.save()
    return request


def _lock_origin(ip: str) -> None:
    """Requests from one origin take turns between counting and inserting, so parallel ones
    cannot all pass a count none of them is in yet. PostgreSQL: a transaction-scoped
    advisory lock on the address; SQLite's IMMEDIATE transactions already take turns."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"recovery-ip:{ip}"])


TEXT_FIELDS = ("claimed_organizations", "explanation", "raw_message")


def _cut_short(request: RecoveryRequest) -> None:
    for field in TEXT_FIELDS:
        setattr(request, field, getattr(request, field)[:REFUSED_TEXT_LIMIT])


def process_requests(*, batch: int = 50) -> int:
    """Act on received requests, oldest first. Returns how many. Run by the worker; a
    request that fails is retried on later passes, then parked as FAILED (attempts.py)."""
    waiting = RecoveryRequest.objects.filter(outcome=RECEIVED).order_by("id")
    pks = list(waiting.values_list("pk", flat=True)[:batch])
    return attempts.each(pks, _process, failed=_failed, what="recovery request")


def _failed(pk: int) -> None:
    # One conditional UPDATE: the CASE reads the count before this increment.
    RecoveryRequest.objects.filter(pk=pk, outcome=RECEIVED).update(
        attempts=F("attempts") + 1,
        outcome=Case(
            When(attempts__gte=attempts.MAX_ATTEMPTS - 1, then=Value(FAILED)),
            default=F("outcome"),
        ),
    )


def _process(pk: int) -> bool:
    with transaction.atomic():
        # skip_locked: two workers never act on one request.
        request = (
            RecoveryRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, outcome=RECEIVED)
            .first()
        )
        if request is None:
            return False
        # The account's row lock makes requests for one account (a double click, the
        # form and an email at once) take turns, so each one's counts and open-case
        # lookup see the others' rows: one case, and no more than the limits.
        account = lock_account(request.claimed_email)
        # From either address of a recent email change: flagged for support, and from the
        # address the account left, about that account.
        account, request.email_change = email_watch.flag(
            request.claimed_email, at=request.created_at, account=account
        )
        if account is None:
            # Cut short like a refused request: a flood for non-accounts fills no disk.
            request.outcome = "no account for this address"
            _cut_short(request)
            request.save(update_fields=["outcome", "email_change", *TEXT_FIELDS])
            return True
        _act_for(account, request)
    return True


def _act_for(account: User, request: RecoveryRequest) -> None:
    now = timezone.now()
    since = now - RATE_WINDOW
    # Even the opening request is only a claim until the owner confirms it (confirmation.py).
    case, opened = open_or_join(account=account, source=request.source, now=now)
    if opened:
        request.outcome = OPENED
    elif case.requests.filter(created_at__gte=since, outcome=UNVERIFIED_CLAIM).count() < (
        MAX_CLAIMS_PER_CASE
    ):
        # Not the owner's words: nothing shows this request proved the mailbox.
        RecoveryCase.objects.filter(pk=case.pk).update(updated_at=now)
        request.outcome = UNVERIFIED_CLAIM
    else:
        request.outcome = CLAIMS_LIMITED
        _cut_short(request)
    request.case = case
    request.mailed_links = not case.mailbox_confirmed and (
        case.requests.filter(created_at__gte=since, mailed_links=True).count()
        < MAX_LINK_MAILS_PER_CASE
    )
    request.save(
        update_fields=[
            "outcome",
            "case",
            "mailed_links",
            "email_change",
            "claimed_organizations",
            "explanation",
            "raw_message",
        ]
    )
    if request.mailed_links:
        send_links(case)


# The owner is shown at most this many of the requests on their case when confirming.
MAX_REQUESTS_SHOWN = 10


def requests_to_confirm(case: RecoveryCase) -> list[RecoveryRequest]:
    """The requests the owner may recognise as theirs on the confirm page, oldest first:
    the one that opened the case and the most recent claims after it."""
    kept = case.requests.filter(outcome__in=(OPENED, UNVERIFIED_CLAIM))
    opening = list(kept.order_by("created_at", "id")[:1])
    latest = list(kept.exclude(pk__in=[r.pk for r in opening]).order_by("-created_at", "-id"))
    return opening + latest[: MAX_REQUESTS_SHOWN - 1][::-1]


def refused_claims(case: RecoveryCase) -> list[tuple[str, int]]:
    """Requests refused for the case's claim limit (CLAIMS_LIMITED), for support: each
    origin with how many, most first; the texts are kept cut short on the requests."""
    counts: dict[str, int] = {}
    for request in case.requests.filter(outcome=CLAIMS_LIMITED).only("source", "ip", "sender"):
        counts[request.origin] = counts.get(request.origin, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def open_case_from_chat(*, actor: User, conversation: Conversation, note: str) -> RecoveryCase:
    """Support opens a case for the person in a chat, or returns their open case. The case
    still needs the mailbox confirmation and the checklist: a chat message alone never
    resets anything. The account's row lock orders this with the intake (one open case)."""
    person = conversation.user
    if conversation.kind == Conversation.Kind.CASE or person is None:
        raise RecoveryError("This conversation already belongs to a case.")
    if not may_act_on(agent=actor, account_id=person.pk):
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
