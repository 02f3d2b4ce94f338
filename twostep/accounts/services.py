"""Account use cases: the password step, completing a login, password changes."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import authenticate, login
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, record
from twostep.backoff import backoff_delay, wait_duration
from twostep.mail.services import queue_email

from . import devices
from .models import LoginThrottle, User, normalize_email

INVALID_LOGIN = "Invalid email or password."
# Password step: per account a few free failures then back-off up to 15 minutes (an
# attacker cannot lock the owner out for long); per IP more room, up to an hour.
ACCOUNT_FREE, ACCOUNT_CAP = 5, timedelta(minutes=15)
IP_FREE, IP_CAP = 20, timedelta(hours=1)
# Failures older than this are forgotten. Without it an IP's count (which no success
# resets) only grows, and an office behind one address ends up locked out by typos.
FORGET_FAILURES_AFTER = timedelta(days=1)
SESSION_MFA_VERIFIED = "twostep_mfa_verified"


class LoginRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Key:
    key: str
    free: int
    cap: timedelta
    # Counted before the password is checked (under the row lock) and cleared by a success;
    # the other keys are counted after a failure and never cleared.
    reserved: bool = False
    trusted_device: bool = False


def _throttle_keys(email: str, request: HttpRequest) -> list[_Key]:
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
        return [
            _Key(
                device.throttle_key, ACCOUNT_FREE, ACCOUNT_CAP, reserved=True, trusted_device=True
            ),
            _Key(devices.total_key(device.user_id), ACCOUNT_FREE, ACCOUNT_CAP, reserved=True),
        ]
    return _untrusted_keys(email, request)


def _untrusted_keys(email: str, request: HttpRequest) -> list[_Key]:
    keys = [_Key(_account_key(email), ACCOUNT_FREE, ACCOUNT_CAP, reserved=True)]
    ip = client_ip(request)
    if ip:
        keys.append(_Key(f"ip:{ip}", IP_FREE, IP_CAP))
    return keys


def _account_key(email: str) -> str:
    return f"account:{normalize_email(email)}"[:200]


def check_password(*, request: HttpRequest, email: str, password: str) -> User:
    """The first login step. Returns the user or raises LoginRefused.

    The same message, statements and hashing for an unknown email and a wrong password (the
    backend verifies against a dummy hash, the refusal is recorded either way), so neither
    the text nor the timing tells whether an account exists. Throttled per account and per
    IP, or per device for a browser that completed a login for this account before.
    """
    now = timezone.now()
    keys = _throttle_keys(email, request)
    try:
        wait = _reserve_attempt(keys, now=now)
    except _DeviceForgotten:  # a password reset forgot it meanwhile: a stranger's browser
        devices.distrust(request=request)
        keys = _untrusted_keys(email, request)
        wait = _reserve_attempt(keys, now=now)
    if wait is not None:
        _record_refusal(SecurityEvent.Type.LOGIN_THROTTLED, email=email, request=request)
        raise LoginRefused(
            f"Too many failed attempts. Try again in {wait_duration(wait.total_seconds())}."
        )
    user = authenticate(request, username=normalize_email(email), password=password)
    if user is None:
        with transaction.atomic():
            for key in keys:
                if not key.reserved:  # the reserved ones were counted in advance
                    _count(key, now=now)
            _record_refusal(SecurityEvent.Type.LOGIN_FAILED, email=email, request=request)
        raise LoginRefused(INVALID_LOGIN)
    # A success clears the failures, the one reserved for this attempt included.
    reserved = [key.key for key in keys if key.reserved]
    if keys[0].trusted_device:  # its row stays: the row is what makes the device trusted
        LoginThrottle.objects.filter(key__in=reserved).update(
            failure_count=0, next_try_at=None, updated_at=now
        )
    else:  # no row, as for an address never tried: a row must not tell a known account
        LoginThrottle.objects.filter(key__in=reserved).delete()
    return user


def _record_refusal(type: str, *, email: str, request: HttpRequest) -> None:
    """Record a refused password step: for the account, or with no subject when the email
    is unknown. Written either way, so the database work does not tell which."""
    subject = User.objects.filter(email=normalize_email(email)).first()
    record(type=type, subject=subject, request=request)


class _DeviceForgotten(Exception):
    """The trusted browser's row was gone once locked: forgotten (a password reset, the
    oldest beyond the cap) after the cookie was checked. Its row is what makes a browser
    trusted, so it must never be created again here."""


def _reserve_attempt(keys: list[_Key], *, now) -> timedelta | None:
    """Refuse the attempt if a key must still wait; otherwise count it against the reserved
    keys before the password is checked (a success takes it back).

    Check and count happen under the rows' locks (taken in key order, so two attempts never
    wait for each other's), so a burst of parallel guesses cannot all pass a check that none
    of them has counted against yet: it gets the free tries and then the back-off, as
    sequential guesses do.
    """
    with transaction.atomic():
        locked = LoginThrottle.objects.select_for_update().filter(key__in=[k.key for k in keys])
        rows = {t.key: t for t in locked.order_by("key")}
        if keys[0].trusted_device and keys[0].key not in rows:
            raise _DeviceForgotten
        # A key missing from `rows` has no row: create it, no second look (_first_failure).
        reserved = [(k, rows.get(k.key) or _first_failure(k, now=now)) for k in keys if k.reserved]
        waits = [
            t.next_try_at - now
            for t in (*rows.values(), *(row for _, row in reserved))
            if t and t.next_try_at and t.next_try_at > now
        ]
        if waits:
            return max(waits)
        for key, row in reserved:
            if row is not None:
                _increment(row, key, now=now)
    return None


def _count(key: _Key, *, now) -> None:
    """One more consecutive failure for `key`. Call inside a transaction."""
    row = _locked_row(key, now=now)
    if row is not None:
        _increment(row, key, now=now)


def _locked_row(key: _Key, *, now) -> LoginThrottle | None:
    """The key's row, locked; or None after creating it with its first failure counted."""
    row = LoginThrottle.objects.select_for_update().filter(key=key.key).first()
    if row is not None:
        return row
    return _first_failure(key, now=now)


def _first_failure(key: _Key, *, now) -> LoginThrottle | None:
    """Create the key's row with its first failure counted (None), or, when a concurrent
    attempt created it meanwhile, return that row locked."""
    try:
        with transaction.atomic():
            LoginThrottle.objects.create(key=key.key, failure_count=1, updated_at=now)
        return None
    except IntegrityError:  # a concurrent first failure created it: wait for its lock
        return LoginThrottle.objects.select_for_update().get(key=key.key)


def _increment(row: LoginThrottle, key: _Key, *, now) -> None:
    forgotten = row.updated_at < now - FORGET_FAILURES_AFTER
    row.failure_count = 1 if forgotten else row.failure_count + 1
    delay = backoff_delay(row.failure_count, free=key.free, cap=key.cap)
    row.next_try_at = now + delay if delay else None
    row.updated_at = now
    row.save(update_fields=["failure_count", "next_try_at", "updated_at"])


def record_logout(*, request: HttpRequest) -> None:
    if request.user.is_authenticated:
        record(type=SecurityEvent.Type.LOGOUT, subject=request.user, request=request)


def verified_with_second_factor(request: HttpRequest) -> bool:
    """This session's login used the second factor, and 2FA is still on for the account."""
    from twostep.mfa.services import active_device

    user = request.user
    return (
        user.is_authenticated
        and request.session.get(SESSION_MFA_VERIFIED) is True
        and active_device(user) is not None
    )


def complete_login(*, request: HttpRequest, user: Any, mfa_verified: bool) -> None:
    """Log the user in (rotating the session key), trust this browser's device cookie for
    the account, and record it."""
    with transaction.atomic():
        login(request, user, backend="twostep.accounts.backends.EmailBackend")
        devices.trust(request=request, user=user)
        request.session[SESSION_MFA_VERIFIED] = mfa_verified
        record(
            type=SecurityEvent.Type.LOGIN, subject=user, request=request, second_factor=mfa_verified
        )
        if mfa_verified:
            # The owner still holds their factor: a pending support reset must not go on.
            from twostep.recovery.resets import cancel_on_login

            cancel_on_login(user=user)


def record_password_change(*, request: HttpRequest, user: User, by_reset: bool) -> None:
    """Audit and announce a password change (through Settings or a reset link), clear the
    account's password throttle (whoever pushed it into its back-off guessed a password that
    no longer exists) and forget its trusted browsers, all but the one that made a change
    through Settings (it gets a new device cookie: pass the response to
    `devices.set_cookie`)."""
    event = SecurityEvent.Type.PASSWORD_RESET if by_reset else SecurityEvent.Type.PASSWORD_CHANGED
    LoginThrottle.objects.filter(key=_account_key(user.email)).delete()
    devices.forget(request=request, user=user, keep_this_browser=not by_reset)
    record(type=event, subject=user, request=request)
    queue_email(to=user.email, template="password_changed", context={"user": user})


def after_password(*, request: HttpRequest, user: User, next_url: str) -> bool:
    """Continue a login whose password was right. Returns True when a code is still needed.

    With 2FA on, the session only gets the short-lived pending marker; otherwise the login
    completes here.
    """
    from twostep.mfa import pending
    from twostep.mfa.services import active_device

    devices.prepare(request=request, user=user)
    if active_device(user) is None:
        complete_login(request=request, user=user, mfa_verified=False)
        return False
    pending.begin(request, user, next_url=next_url)
    record(type=SecurityEvent.Type.PASSWORD_OK, subject=user, request=request)
    return True
