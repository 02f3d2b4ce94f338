"""The second step's throttle, shared by every factor (NIST SP 800-63B 5.2.2).

A wrong app code, a wrong recovery code and a refused security key all count on the
account's one MfaState row: a few free tries, then a doubling wait, then a lock that only
support clears. Switching methods buys an attacker nothing. Each factor's judge asks
`refusal` before judging, counts a judged failure with `record_failure` and clears the
count with `record_success`; its own single-use UPDATE re-checks the throttle at write
time (`NOT_HELD_BACK`), so a try that raced past `refusal` is still refused.
"""

from datetime import datetime
from typing import Any

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, record
from twostep.backoff import backoff_delay, wait_duration
from twostep.mail.services import queue_email

from .checks import CodeCheck, Purpose, Reason
from .models import BACKOFF_CAP, FREE_FAILURES, LOCK_AFTER, MfaState

_STATE = MfaState._meta.db_table


def _not_held_back(vendor: str) -> str:
    """For a factor's single-use UPDATE: "and the account's second step is neither locked nor
    waiting", with parameters (user id, LOCK_AFTER, now).

    On PostgreSQL the row is read FOR SHARE: a failure whose transaction is still open
    (count raised, wait about to be set) holds the row lock, so the UPDATE waits for it
    and re-checks the committed row; without the lock it would read the old row and
    accept. The EXISTS is positive, so the MfaState row must exist whenever a method does
    (recount_methods and start_enrolment make it). SQLite serializes write transactions
    (its write lock is taken at BEGIN), so there the plain form suffices.
    """
    if vendor == "postgresql":
        return (
            f" AND EXISTS (SELECT 1 FROM {_STATE} s WHERE s.user_id = %s"  # noqa: S608
            " AND s.failure_count < %s AND (s.next_try_at IS NULL OR s.next_try_at <= %s)"
            " FOR SHARE)"
        )
    return (
        f" AND NOT EXISTS (SELECT 1 FROM {_STATE} s WHERE s.user_id = %s"  # noqa: S608
        " AND (s.failure_count >= %s OR s.next_try_at > %s))"
    )


NOT_HELD_BACK = _not_held_back(connections[router.db_for_write(MfaState)].vendor)


def state_of(user: User) -> MfaState | None:
    """The account's MfaState (preloaded with the user: no query), or None."""
    try:
        return user.mfa_state
    except MfaState.DoesNotExist:
        return None


def _loaded(user: User) -> bool:
    """Whether the user came with its MfaState (or with the knowledge that it has none)."""
    return bool(MfaState._meta.get_field("user").remote_field.is_cached(user))


def ensure_state(user: User) -> MfaState:
    """The account's MfaState row, made if absent (safe when two requests race to make it)."""
    state = MfaState.objects.filter(user=user).first()
    if state is None:
        try:
            with transaction.atomic():
                state = MfaState.objects.create(user=user)
        except IntegrityError:
            state = MfaState.objects.get(user=user)
    user.mfa_state = state
    return state


def refusal(state: MfaState | None, *, now: datetime) -> CodeCheck | None:
    """Why the second step refuses to judge a proof now (locked, or waiting), or None."""
    if state is None:
        return None
    if state.is_locked:
        return CodeCheck(
            False,
            Reason.LOCKED,
            gettext(
                "Too many wrong codes: the second step of this account is locked. "
                "Contact support to unlock it."
            ),
        )
    if state.next_try_at and state.next_try_at > now:
        wait = wait_duration((state.next_try_at - now).total_seconds())
        return CodeCheck(
            False,
            Reason.THROTTLED,
            gettext("Too many wrong codes. Try again in %(wait)s.") % {"wait": wait},
            retry_at=state.next_try_at,
        )
    return None


_COUNT_FAILURE = (
    f"UPDATE {_STATE}"  # noqa: S608
    " SET failure_count = failure_count + 1"
    " WHERE user_id = %s AND failure_count < %s AND (next_try_at IS NULL OR next_try_at <= %s)"
    " RETURNING failure_count"
)


def _count_failure(user: User, now: datetime) -> int | None:
    """Count one more judged failure, if a try may be judged now; the new count, or None.

    The decision and the count are one conditional UPDATE: of failures arriving at once,
    each sees the count the ones before it made, so only the free tries are judged before
    the wait applies. The row stays locked (PostgreSQL; SQLite takes its write lock at
    BEGIN) until the caller's transaction sets the wait and commits.
    """
    connection = connections[router.db_for_write(MfaState)]
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_FAILURE, [user.pk, LOCK_AFTER, stamp])
        row = cursor.fetchone()
    return None if row is None else row[0]


# Where the password was right, so wrong codes after it mean someone holds the password:
# the owner is emailed after the free tries (at login, and confirming it's them).
OWNER_WARNED: tuple[Purpose, ...] = ("login", "confirm")


def record_failure(
    user: User,
    *,
    request: HttpRequest | None,
    purpose: Purpose,
    method: str,
    message: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> CodeCheck:
    """Count one judged failure of `method` ("app", "recovery_code", "key") and record it.

    Records CODE_FAILED (KEY_REFUSED for a key) with the method and `details` (never a code),
    MFA_LOCKED at the lock, and emails the owner when a login or a confirmation (a right
    password both) uses up the free tries.

    Returns the refusal that now applies, or CodeCheck(False, WRONG, message) with the
    time of the next try. Do not call inside an outer transaction: the failure must stay
    recorded though the caller then refuses the request.
    """
    with transaction.atomic():
        failures = _count_failure(user, now)
        if failures is None and not MfaState.objects.filter(user=user).exists():
            ensure_state(user)
            failures = _count_failure(user, now)
        if failures is None:
            # Others used up the free tries since this request read the row: not judged.
            current = MfaState.objects.filter(user=user).first()
            return refusal(current, now=now) or CodeCheck(False, Reason.WRONG, message)
        delay = backoff_delay(failures, free=FREE_FAILURES, cap=BACKOFF_CAP)
        next_try_at = now + delay if delay else None
        if delay:  # the row is ours until commit: our UPDATE locked it
            MfaState.objects.filter(user=user).update(next_try_at=next_try_at)
        event = (
            SecurityEvent.Type.KEY_REFUSED if method == "key" else SecurityEvent.Type.CODE_FAILED
        )
        record(
            type=event,
            subject=user,
            request=request,
            purpose=purpose,
            method=method,
            consecutive=failures,
            **(details or {}),
        )
        if failures == LOCK_AFTER:
            record(type=SecurityEvent.Type.MFA_LOCKED, subject=user, request=request)
        if purpose in OWNER_WARNED and failures == FREE_FAILURES:
            queue_email(
                to=user.email,
                template="wrong_codes",
                context={"user": user, "count": FREE_FAILURES, "ip": client_ip(request)},
            )
    state = state_of(user) if _loaded(user) else None
    if state is not None:
        state.failure_count, state.next_try_at = failures, next_try_at
    if failures >= LOCK_AFTER:
        locked = MfaState(user_id=user.pk, failure_count=failures, next_try_at=next_try_at)
        return refusal(locked, now=now) or CodeCheck(False, Reason.LOCKED)
    return CodeCheck(False, Reason.WRONG, message, retry_at=next_try_at)


def record_success(user: User) -> None:
    """A proof was accepted: clear the failures, writing only if there were any."""
    if _loaded(user):
        state = state_of(user)
        if state is None or (state.failure_count == 0 and state.next_try_at is None):
            return
        state.failure_count, state.next_try_at = 0, None
    MfaState.objects.filter(user=user).filter(
        Q(failure_count__gt=0) | Q(next_try_at__isnull=False)
    ).update(failure_count=0, next_try_at=None)


def clear_lock(*, actor: User, user: User, reason: str, request: HttpRequest | None = None) -> bool:
    """Support clears the second step's throttle and lock. Returns whether there was one."""
    with transaction.atomic():
        cleared = (
            MfaState.objects.filter(user=user)
            .filter(Q(failure_count__gt=0) | Q(next_try_at__isnull=False))
            .update(failure_count=0, next_try_at=None)
        )
        state = state_of(user) if _loaded(user) else None
        if state is not None:
            state.failure_count, state.next_try_at = 0, None
        if cleared:
            record(
                type=SecurityEvent.Type.MFA_UNLOCKED,
                subject=user,
                actor=actor,
                request=request,
                reason=reason,
            )
    return bool(cleared)
