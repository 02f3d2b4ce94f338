"""Account use cases: the password step, completing a login, sign-up, password changes."""

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import authenticate, login
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, record
from twostep.backoff import backoff_delay
from twostep.mail.services import queue_email

from .models import LoginThrottle, User, normalize_email
from .tokens import signup_link

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


def _throttle_keys(email: str, request: HttpRequest) -> list[_Key]:
    keys = [_Key(f"account:{normalize_email(email)}"[:200], ACCOUNT_FREE, ACCOUNT_CAP)]
    ip = client_ip(request)
    if ip:
        keys.append(_Key(f"ip:{ip}", IP_FREE, IP_CAP))
    return keys


def _wait_message(seconds: float) -> str:
    wait = math.ceil(seconds)
    if wait < 90:
        unit = f"{wait} second{'s' if wait != 1 else ''}"
    else:
        unit = f"{math.ceil(wait / 60)} minutes"
    return f"Too many failed attempts. Try again in {unit}."


def check_password(*, request: HttpRequest, email: str, password: str) -> User:
    """The first login step. Returns the user or raises LoginRefused.

    The same message for an unknown email and a wrong password, and the hasher runs for
    both (ModelBackend hashes the password for unknown users), so neither the text nor the
    timing tells whether an account exists. Throttled per account and per IP.
    """
    now = timezone.now()
    keys = _throttle_keys(email, request)
    throttles = {t.key: t for t in LoginThrottle.objects.filter(key__in=[k.key for k in keys])}
    waits = [
        t.next_try_at - now for t in throttles.values() if t.next_try_at and t.next_try_at > now
    ]
    if waits:
        subject = User.objects.filter(email=normalize_email(email)).first()
        if subject is not None:
            record(type=SecurityEvent.Type.LOGIN_THROTTLED, subject=subject, request=request)
        raise LoginRefused(_wait_message(max(waits).total_seconds()))
    user = authenticate(request, username=normalize_email(email), password=password)
    if user is None:
        _count_failure(keys, now=now, email=email, request=request)
        raise LoginRefused(INVALID_LOGIN)
    if keys[0].key in throttles:  # a success clears the account's failures (not the IP's)
        LoginThrottle.objects.filter(key=keys[0].key).delete()
    return user


def _count_failure(keys: list[_Key], *, now, email: str, request: HttpRequest) -> None:
    with transaction.atomic():
        for k in keys:
            throttle, created = LoginThrottle.objects.select_for_update().get_or_create(
                key=k.key, defaults={"failure_count": 1, "updated_at": now}
            )
            if not created:
                forgotten = throttle.updated_at < now - FORGET_FAILURES_AFTER  # row is locked
                LoginThrottle.objects.filter(pk=throttle.pk).update(
                    failure_count=1 if forgotten else F("failure_count") + 1, updated_at=now
                )
                throttle.refresh_from_db()
            delay = backoff_delay(throttle.failure_count, free=k.free, cap=k.cap)
            if delay:
                LoginThrottle.objects.filter(pk=throttle.pk).update(next_try_at=now + delay)
        subject = User.objects.filter(email=normalize_email(email)).first()
        if subject is not None:
            record(type=SecurityEvent.Type.LOGIN_FAILED, subject=subject, request=request)


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
    """Log the user in (rotating the session key) and record it."""
    with transaction.atomic():
        login(request, user, backend="twostep.accounts.backends.EmailBackend")
        request.session[SESSION_MFA_VERIFIED] = mfa_verified
        record(
            type=SecurityEvent.Type.LOGIN, subject=user, request=request, second_factor=mfa_verified
        )
        if mfa_verified:
            # The owner still holds their factor: a pending support reset must not go on.
            from twostep.recovery.services import cancel_on_login

            cancel_on_login(user=user)


def signup(*, request: HttpRequest, email: str, full_name: str, password: str) -> None:
    """Create an inactive account and email a confirmation link.

    For an address that already has an account nothing is created: the owner is told by
    email instead, so the page answers the same whether or not the address is known. Every
    path hashes the password once, so the time taken does not tell either.
    """
    email = normalize_email(email)
    with transaction.atomic():
        existing = User.objects.select_for_update().filter(email=email).first()
        if existing is None:
            user = User.objects.create_user(email, password, full_name=full_name, is_active=False)
            record(type=SecurityEvent.Type.SIGNUP, subject=user, request=request)
        elif awaiting_confirmation(existing):
            # The latest sign-up wins. An earlier one may have been someone else's (account
            # pre-hijacking): the link is bound to the password hash, so it can only ever
            # activate the password submitted with it.
            existing.set_password(password)
            existing.full_name = full_name
            existing.save(update_fields=["password", "full_name"])
            user = existing
        else:  # active, or deactivated by staff: sign-up must not bring it back
            make_password(password)
            queue_email(
                to=email,
                template="signup_existing",
                context={"user": existing, "site": request.build_absolute_uri("/")},
            )
            return
        queue_email(
            to=email,
            template="signup_confirm",
            context={"user": user, "link": signup_link(request, user)},
        )


def awaiting_confirmation(user: User) -> bool:
    """True for an account created by sign-up whose address was never confirmed.

    An account staff deactivated is inactive too but must never become confirmable again;
    the append-only audit log tells the two apart.
    """
    if user.is_active:
        return False
    events = SecurityEvent.objects.filter(subject=user)
    return (
        events.filter(type=SecurityEvent.Type.SIGNUP).exists()
        and not events.filter(type=SecurityEvent.Type.SIGNUP_CONFIRMED).exists()
    )


def confirm_signup(*, request: HttpRequest, user: User) -> bool:
    """Activate an account awaiting confirmation. Returns False when there is none."""
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk).first()
        if locked is None or not awaiting_confirmation(locked):
            return False
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
        record(type=SecurityEvent.Type.SIGNUP_CONFIRMED, subject=user, request=request)
    return True


def record_password_change(*, request: HttpRequest, user: User, by_reset: bool) -> None:
    """Audit and announce a password change (through Settings or a reset link)."""
    event = SecurityEvent.Type.PASSWORD_RESET if by_reset else SecurityEvent.Type.PASSWORD_CHANGED
    record(type=event, subject=user, request=request)
    queue_email(to=user.email, template="password_changed", context={"user": user})


def after_password(*, request: HttpRequest, user: User, next_url: str) -> bool:
    """Continue a login whose password was right. Returns True when a code is still needed.

    With 2FA on, the session only gets the short-lived pending marker; otherwise the login
    completes here.
    """
    from twostep.mfa import pending
    from twostep.mfa.services import active_device

    if active_device(user) is None:
        complete_login(request=request, user=user, mfa_verified=False)
        return False
    pending.begin(request, user, next_url=next_url)
    record(type=SecurityEvent.Type.PASSWORD_OK, subject=user, request=request)
    return True
