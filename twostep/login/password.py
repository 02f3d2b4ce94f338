"""The password step: the right password for an existing account, throttled.

The throttle's rows belong to accounts (twostep.accounts.throttle, which a password change
also clears); what this step decides is which keys an attempt counts against, how many
free tries each gets, and what the person and the audit log are told.
"""

from datetime import timedelta
from typing import Any, cast

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from twostep.accounts import devices, throttle
from twostep.accounts.models import User, normalize_email
from twostep.accounts.throttle import ThrottleKey
from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, record
from twostep.backoff import wait_duration

INVALID_LOGIN = "Invalid email or password."
# Per account a few free failures then back-off up to 15 minutes (an attacker cannot lock
# the owner out for long); per IP more room, up to an hour.
ACCOUNT_FREE, ACCOUNT_CAP = 5, timedelta(minutes=15)
IP_FREE, IP_CAP = 20, timedelta(hours=1)


class LoginRefused(Exception):
    """`wait`: how long the throttle holds the next try back (None: the password was wrong)."""

    def __init__(self, message: str, wait: timedelta | None = None):
        super().__init__(message)
        self.message = message
        self.wait = wait


def _throttle_keys(email: str, request: HttpRequest) -> list[ThrottleKey]:
    """The keys an attempt counts against, the first one its own (the account's, or the
    trusted browser's).

    A browser with a device cookie for this account is counted apart from everyone else:
    strangers cannot lock it out, and it can only ever guess for the one account its cookie
    names, so the per-IP limit (against guessing across accounts) has nothing to add. Its
    failures also count against one total shared by all the account's trusted browsers, with
    the same free tries and cap as the account: N saved cookies do not give N times the
    guesses. Only a browser that completed a login since the last password change can push
    that total, so strangers cannot use it to lock the owner out either.
    """
    device = devices.trusted_device(request=request, email=email)
    if device is not None:
        total = devices.total_key(device.user_id)
        return [
            ThrottleKey(
                device.throttle_key, ACCOUNT_FREE, ACCOUNT_CAP, reserved=True, trusted_device=True
            ),
            ThrottleKey(total, ACCOUNT_FREE, ACCOUNT_CAP, reserved=True),
        ]
    return _untrusted_keys(email, request)


def _untrusted_keys(email: str, request: HttpRequest) -> list[ThrottleKey]:
    keys = [ThrottleKey(throttle.account_key(email), ACCOUNT_FREE, ACCOUNT_CAP, reserved=True)]
    ip = client_ip(request)
    if ip:
        keys.append(ThrottleKey(f"ip:{ip}", IP_FREE, IP_CAP))
    return keys


def check_password(
    *, request: HttpRequest, email: str, password: str, purpose: str = "login"
) -> User:
    """The first login step (or, with purpose "confirm", the password of "confirm it's
    you", throttled alike). Returns the user or raises LoginRefused.

    The same message, statements and hashing for an unknown email and a wrong password (the
    backend verifies against a dummy hash, the refusal is recorded either way), so neither
    the text nor the timing tells whether an account exists. Throttled per account and per
    IP, or per device for a browser that completed a login for this account before.
    """
    now = timezone.now()
    keys = _throttle_keys(email, request)
    try:
        wait = throttle.reserve_attempt(keys, now=now)
    except throttle.DeviceForgotten:  # a password reset forgot it meanwhile: a stranger's
        devices.distrust(request=request)
        keys = _untrusted_keys(email, request)
        wait = throttle.reserve_attempt(keys, now=now)
    if wait is not None:
        _record_refusal(
            SecurityEvent.Type.LOGIN_THROTTLED, email=email, request=request, purpose=purpose
        )
        raise LoginRefused(
            f"Too many failed attempts. Try again in {wait_duration(wait.total_seconds())}.",
            wait=wait,
        )
    user = authenticate(request, username=normalize_email(email), password=password)
    if user is None:
        with transaction.atomic():
            throttle.count_failure(keys, now=now)
            _record_refusal(
                SecurityEvent.Type.LOGIN_FAILED, email=email, request=request, purpose=purpose
            )
        raise LoginRefused(INVALID_LOGIN)
    throttle.clear_reserved(keys, now=now)
    return cast(User, user)  # our backend's users


def _record_refusal(type: str, *, email: str, request: HttpRequest, purpose: str) -> None:
    """Record a refused password step: for the account, or with no subject when the email
    is unknown. Written either way, so the database work does not tell which. A login's
    event has no purpose detail; any other's (confirming it's you) names it."""
    subject = User.objects.filter(email=normalize_email(email)).first()
    details: dict[str, Any] = {} if purpose == "login" else {"purpose": purpose}
    record(type=type, subject=subject, request=request, **details)
