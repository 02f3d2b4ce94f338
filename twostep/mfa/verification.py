"""The one place a submitted proof is judged. `verify_code` checks a code from the
authenticator app with its throttle, replay refusal, clock-skew help, audit and owner
emails, so login, enrolment and disabling all get them; support's `clear_lock` lifts that
throttle. A new factor (passkey assertion, recovery code) gets a judge of the same shape
here, returning the same CodeCheck."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from django.db import connections, router, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, record
from twostep.backoff import backoff_delay, wait_duration
from twostep.mail.services import queue_email

from . import crypto, totp
from .models import BACKOFF_CAP, FREE_FAILURES, LOCK_AFTER, TOTPDevice

Purpose = Literal["login", "enrol", "disable"]
"""Why a code is checked; it decides which emails a failure sends."""


class Reason(StrEnum):
    """Why a code was refused; ACCEPTED ("") when it was not."""

    ACCEPTED = ""
    MALFORMED = "malformed"
    WRONG = "wrong"
    CLOCK_SKEW = "clock_skew"
    REUSED = "reused"
    THROTTLED = "throttled"
    LOCKED = "locked"
    OFF = "off"  # 2FA was turned off (or already off): nothing left to judge the code against


@dataclass(frozen=True)
class CodeCheck:
    """The verdict on one submitted code. `message` is safe to show the person."""

    accepted: bool
    reason: Reason = Reason.ACCEPTED
    message: str = ""
    retry_at: datetime | None = None

    @classmethod
    def ok(cls) -> "CodeCheck":
        return cls(accepted=True)


def verify_code(
    *, device: TOTPDevice, code: str, request: HttpRequest | None, purpose: Purpose
) -> CodeCheck:
    """Judge `code` for `device` and return the verdict; never raises for bad input.

    `purpose` is "login", "enrol" or "disable"; it decides which emails a failure sends.
    Do not call inside an outer transaction: failures must be recorded even though the
    caller then refuses the request.
    """
    normalized = totp.normalize_code(code)
    if normalized is None:
        return CodeCheck(False, Reason.MALFORMED, "Enter the 6-digit code from your app.")
    now = timezone.now()
    refusal = _throttle_refusal(device, now)
    if refusal:
        return refusal
    key = crypto.decrypt(device.encrypted_secret)
    step = totp.time_step(now.timestamp())
    matched = totp.matching_step(key, normalized, step)
    if matched is None:
        drift = totp.matching_step(key, normalized, step, reach=totp.DRIFT_REACH)
        return _record_failure(
            device,
            now=now,
            request=request,
            purpose=purpose,
            drift_steps=None if drift is None else drift - step,
        )
    if _consume_step(device, matched, now):
        device.last_used_step, device.failure_count, device.next_try_at = matched, 0, None
        return CodeCheck.ok()
    try:
        device.refresh_from_db()
    except TOTPDevice.DoesNotExist:
        return DEVICE_GONE
    if device.last_used_step >= matched:
        return _record_reuse(device, request=request, purpose=purpose)
    return _throttle_refusal(device, now) or CodeCheck(False, Reason.WRONG, WRONG_CODE)


# The table name is the model's own; every value is a query parameter.
_CONSUME_STEP = (
    f"UPDATE {TOTPDevice._meta.db_table}"  # noqa: S608
    " SET last_used_step = %s, failure_count = 0, next_try_at = NULL"
    " WHERE id = %s AND last_used_step < %s AND failure_count < %s"
    " AND (next_try_at IS NULL OR next_try_at <= %s)"
)


def _consume_step(device: TOTPDevice, step: int, now: datetime) -> bool:
    """Record `step` as used, in one conditional UPDATE. True if this call won it.

    The WHERE clause refuses a replay (the step must be newer than the last one used) and
    re-checks the throttle, which another process may have raised since we read the row:
    of several processes holding the same code at the same moment, exactly one sees a row
    updated, on any database, with no lock held in between. Written as SQL because this
    statement is the whole cost of a code check (the ORM would double it).
    """
    connection = connections[router.db_for_write(TOTPDevice)]
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_CONSUME_STEP, [step, device.pk, step, LOCK_AFTER, stamp])
        return cursor.rowcount == 1


_COUNT_FAILURE = (
    f"UPDATE {TOTPDevice._meta.db_table}"  # noqa: S608
    " SET failure_count = failure_count + 1"
    " WHERE id = %s AND failure_count < %s AND (next_try_at IS NULL OR next_try_at <= %s)"
    " RETURNING failure_count"
)


def _count_failure(device: TOTPDevice, now: datetime) -> int | None:
    """Count one more wrong code, if this try may be judged now; the new count, or None.

    The decision and the count are one conditional UPDATE: of wrong codes arriving at
    once, each sees the count the ones before it made, so only the free tries are judged
    before the wait applies. The row stays locked (PostgreSQL; SQLite takes its write lock
    at BEGIN) until the caller's transaction sets the wait and commits.
    """
    connection = connections[router.db_for_write(TOTPDevice)]
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_FAILURE, [device.pk, LOCK_AFTER, stamp])
        row = cursor.fetchone()
    return None if row is None else row[0]


REUSE_EMAIL_QUIET = timedelta(minutes=10)
DEVICE_GONE = CodeCheck(
    False, Reason.OFF, "Two-factor authentication was turned off meanwhile. Log in again."
)
WRONG_CODE = "That code is not right. Check your app and try the newest code."


def _throttle_refusal(device: TOTPDevice, now: datetime) -> CodeCheck | None:
    if device.is_locked:
        return CodeCheck(
            False,
            Reason.LOCKED,
            "Too many wrong codes: the second step of this account is locked. "
            "Contact support to unlock it.",
        )
    if device.next_try_at and device.next_try_at > now:
        wait = wait_duration((device.next_try_at - now).total_seconds())
        return CodeCheck(
            False,
            Reason.THROTTLED,
            f"Too many wrong codes. Try again in {wait}.",
            retry_at=device.next_try_at,
        )
    return None


def _record_failure(
    device: TOTPDevice,
    *,
    now: datetime,
    request: HttpRequest | None,
    purpose: Purpose,
    drift_steps: int | None,
) -> CodeCheck:
    with transaction.atomic():
        failures = _count_failure(device, now)
        if failures is None:
            # Others used up the free tries since this request read the row: not judged.
            current = TOTPDevice.objects.filter(pk=device.pk).first()
            if current is None:
                return DEVICE_GONE
            return _throttle_refusal(current, now) or CodeCheck(False, Reason.WRONG, WRONG_CODE)
        delay = backoff_delay(failures, free=FREE_FAILURES, cap=BACKOFF_CAP)
        device.failure_count, device.next_try_at = failures, now + delay if delay else None
        if delay:  # the row is ours until commit: our UPDATE locked it
            TOTPDevice.objects.filter(pk=device.pk).update(next_try_at=device.next_try_at)
        details: dict[str, Any] = {"purpose": purpose, "consecutive": failures}
        if drift_steps is not None:
            details["clock_drift_seconds"] = drift_steps * totp.PERIOD
        record(type=SecurityEvent.Type.CODE_FAILED, subject=device.user, request=request, **details)
        if failures == LOCK_AFTER:
            record(type=SecurityEvent.Type.MFA_LOCKED, subject=device.user, request=request)
        if purpose == "login" and failures == FREE_FAILURES:
            queue_email(
                to=device.user.email,
                template="wrong_codes",
                context={
                    "user": device.user,
                    "count": FREE_FAILURES,
                    "ip": client_ip(request),
                },
            )
    if failures >= LOCK_AFTER:
        return _throttle_refusal(device, now) or CodeCheck(False, Reason.LOCKED)
    if drift_steps is not None:
        # Half up, not round()'s half-to-even: 5 steps (2.5 minutes) reads "about 3".
        minutes = max(1, (abs(drift_steps) * totp.PERIOD + 30) // 60)
        direction = "behind" if drift_steps < 0 else "ahead"
        return CodeCheck(
            False,
            Reason.CLOCK_SKEW,
            f"That code is from a different time: your phone's clock seems to be about "
            f"{minutes} minute{'s' if minutes != 1 else ''} {direction}. Set your phone to "
            "set its date and time automatically, then try the newest code.",
            retry_at=device.next_try_at,
        )
    return CodeCheck(False, Reason.WRONG, WRONG_CODE, retry_at=device.next_try_at)


def _record_reuse(
    device: TOTPDevice, *, request: HttpRequest | None, purpose: Purpose
) -> CodeCheck:
    """NIST 800-63B 5.1.5.2: a code already used is refused, logged and reported.

    Every reuse is logged; the owner gets one email per burst (a double click or a race
    between tabs would otherwise send one per losing request).
    """
    with transaction.atomic():
        # Serialise reuse reports per device, so that of racing losers only one emails.
        list(TOTPDevice.objects.select_for_update().filter(pk=device.pk).values_list("pk"))
        recent = SecurityEvent.objects.filter(
            subject=device.user,
            type=SecurityEvent.Type.CODE_REUSE,
            created_at__gte=timezone.now() - REUSE_EMAIL_QUIET,
        ).exists()
        record(
            type=SecurityEvent.Type.CODE_REUSE,
            subject=device.user,
            request=request,
            purpose=purpose,
        )
        if device.is_active and not recent:
            queue_email(
                to=device.user.email,
                template="code_reuse",
                context={
                    "user": device.user,
                    "ip": client_ip(request),
                },
            )
    return CodeCheck(
        False, Reason.REUSED, "That code has already been used. Wait for the next code in your app."
    )


def clear_lock(*, actor: User, user: User, reason: str, request: HttpRequest | None = None) -> bool:
    """Support clears the code-step throttle and lock. Returns whether there was one."""
    with transaction.atomic():
        cleared = (
            TOTPDevice.objects.filter(user=user)
            .filter(Q(failure_count__gt=0) | Q(next_try_at__isnull=False))
            .update(failure_count=0, next_try_at=None)
        )
        if cleared:
            record(
                type=SecurityEvent.Type.MFA_UNLOCKED,
                subject=user,
                actor=actor,
                request=request,
                reason=reason,
            )
    return bool(cleared)
