"""Limits per client address for the passwordless login, in the login throttle's table
(twostep.accounts LoginThrottle, so every app process counts the same; no in-process state).

A passwordless answer names its account by a credential ID, which is no secret (the second
step's options send it in allowCredentials). Until the signature verifies, nobody has shown
they hold the passkey, so such a failure must not cost the account anything (its shared
throttle, the wrong-codes email, its audit log): it is recorded with no account and counted
against the client's address, with the password step's per-address free tries and cap.

The options (anonymous, asked by every login page through the autofill) are limited per
address too: each call writes a session and a challenge.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils.translation import gettext as _

from twostep.accounts.models import LoginThrottle
from twostep.accounts.throttle import ThrottleKey, count_failure
from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, record
from twostep.backoff import wait_duration

from ..checks import CodeCheck, Reason

FREE, CAP = 20, timedelta(hours=1)  # as the password step's per-address limit
OPTIONS_PER_WINDOW, OPTIONS_WINDOW = 60, timedelta(minutes=10)


def _key(request: HttpRequest) -> ThrottleKey | None:
    ip = client_ip(request)
    return ThrottleKey(f"passkey:{ip}"[:200], FREE, CAP) if ip else None


def refusal(request: HttpRequest, *, now: datetime) -> CodeCheck | None:
    """Why this address may not try a passkey now (waiting after many failures), or None."""
    key = _key(request)
    if key is None:
        return None
    until = (
        LoginThrottle.objects.filter(key=key.key, next_try_at__gt=now)
        .values_list("next_try_at", flat=True)
        .first()
    )
    if until is None:
        return None
    wait = wait_duration((until - now).total_seconds())
    message = _("Too many failed passkey logins from your network. Try again in %(wait)s.")
    return CodeCheck(False, Reason.THROTTLED, message % {"wait": wait}, retry_at=until)


def address_key(request: HttpRequest) -> str | None:
    """The row this address's failures count in (key_lookup reads whether it must wait in
    the check's one SELECT), or None without an address."""
    key = _key(request)
    return key.key if key else None


def failure(request: HttpRequest, reason: str, message: str, now: datetime) -> CodeCheck:
    """A refused passwordless answer: recorded with no account (KEY_REFUSED, why) and
    counted against the client's address; while the address must wait, only refused.
    Do not call inside a transaction."""
    held = refusal(request, now=now)
    if held:
        return held
    key = _key(request)
    with transaction.atomic():
        if key is not None:
            count_failure([key], now=now)
        record(
            type=SecurityEvent.Type.KEY_REFUSED,
            subject=None,
            actor=None,
            request=request,
            purpose="passwordless",
            reason=reason,
        )
    return CodeCheck(False, Reason.WRONG, message)


def options_allowed(request: HttpRequest, *, now: datetime) -> bool:
    """Count one request for passwordless options from this address; False past
    OPTIONS_PER_WINDOW in OPTIONS_WINDOW. One UPDATE most times."""
    ip = client_ip(request)
    if not ip:
        return True
    key = f"passkey-options:{ip}"[:200]
    rows = LoginThrottle.objects.filter(key=key)
    start = now - OPTIONS_WINDOW
    # updated_at is when the row's window began; failure_count the requests in it.
    if rows.filter(updated_at__gt=start, failure_count__lt=OPTIONS_PER_WINDOW).update(
        failure_count=F("failure_count") + 1
    ):
        return True
    if rows.filter(updated_at__lte=start).update(failure_count=1, updated_at=now):
        return True
    if rows.exists():
        return False  # the window is full
    try:
        with transaction.atomic():
            LoginThrottle.objects.create(key=key, failure_count=1, updated_at=now)
    except IntegrityError:  # another request made it meanwhile: counted next time
        pass
    return True
