"""The judge of a code from the authenticator app. `verify_code` checks it with the
shared throttle (throttle.py), replay refusal, clock-skew help, audit and owner emails, so
login, enrolment and disabling all get them. Recovery codes have their judge in
recovery_codes.py; both return the same CodeCheck."""

from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, ngettext

from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, record
from twostep.mail.services import queue_email

from . import crypto, throttle, totp
from .checks import CodeCheck, Purpose, Reason
from .models import LOCK_AFTER, TOTPDevice
from .throttle import clear_lock

__all__ = ["CodeCheck", "Purpose", "Reason", "clear_lock", "verify_code"]


def verify_code(
    *, device: TOTPDevice, code: str, request: HttpRequest | None, purpose: Purpose
) -> CodeCheck:
    """Judge `code` for `device` and return the verdict; never raises for bad input.

    `purpose` is "login", "enrol" or "confirm" (confirming it's you); it decides which emails a
    failure sends.
    Do not call inside an outer transaction: failures must be recorded even though the
    caller then refuses the request.
    """
    normalized = totp.normalize_code(code)
    if normalized is None:
        return CodeCheck(False, Reason.MALFORMED, gettext("Enter the 6-digit code from your app."))
    now = timezone.now()
    user = device.user
    refusal = throttle.refusal(throttle.state_of(user), now=now)
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
        device.last_used_step = matched
        throttle.record_success(user)
        return CodeCheck.ok()
    try:
        device.refresh_from_db()
    except TOTPDevice.DoesNotExist:
        return device_gone()
    if device.last_used_step >= matched:
        return _record_reuse(device, request=request, purpose=purpose)
    current = throttle.ensure_state(user)
    return throttle.refusal(current, now=now) or CodeCheck(False, Reason.WRONG, wrong_code())


# Table names are the models' own; every value is a query parameter.
_CONSUME_STEP = (
    f"UPDATE {TOTPDevice._meta.db_table}"  # noqa: S608
    " SET last_used_step = %s WHERE id = %s AND last_used_step < %s" + throttle.NOT_HELD_BACK
)


def _consume_step(device: TOTPDevice, step: int, now: datetime) -> bool:
    """Record `step` as used, in one conditional UPDATE. True if this call won it.

    The WHERE clause refuses a replay (the step must be newer than the last one used) and
    re-checks the shared throttle, which another process may have raised since we read it:
    of several processes holding the same code at the same moment, exactly one sees a row
    updated, on any database, with no lock held in between. Written as SQL because this
    statement is the whole cost of a code check (the ORM would double it).
    """
    connection = connections[router.db_for_write(TOTPDevice)]
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_CONSUME_STEP, [step, device.pk, step, device.user_id, LOCK_AFTER, stamp])
        return cursor.rowcount == 1


REUSE_EMAIL_QUIET = timedelta(minutes=10)


def device_gone() -> CodeCheck:
    return CodeCheck(
        False,
        Reason.OFF,
        gettext("Two-factor authentication was turned off meanwhile. Log in again."),
    )


WRONG_CODE = gettext_noop("That code is not right. Check your app and try the newest code.")


def wrong_code() -> str:
    return gettext(WRONG_CODE)


def _record_failure(
    device: TOTPDevice,
    *,
    now: datetime,
    request: HttpRequest | None,
    purpose: Purpose,
    drift_steps: int | None,
) -> CodeCheck:
    details = {} if drift_steps is None else {"clock_drift_seconds": drift_steps * totp.PERIOD}
    check = throttle.record_failure(
        device.user,
        request=request,
        purpose=purpose,
        method="app",
        message=wrong_code(),
        now=now,
        details=details,
    )
    if check.reason != Reason.WRONG or drift_steps is None:
        return check
    # Half up, not round()'s half-to-even: 5 steps (2.5 minutes) reads "about 3".
    minutes = max(1, (abs(drift_steps) * totp.PERIOD + 30) // 60)
    direction = "behind" if drift_steps < 0 else "ahead"
    about = ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return CodeCheck(
        False,
        Reason.CLOCK_SKEW,
        gettext(
            "That code is from a different time: your phone's clock seems to be about "
            "%(about)s %(direction)s. Set your phone to set its date and time automatically, "
            "then try the newest code."
        )
        % {"about": about, "direction": direction},
        retry_at=check.retry_at,
    )


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
        False,
        Reason.REUSED,
        gettext("That code has already been used. Wait for the next code in your app."),
    )
