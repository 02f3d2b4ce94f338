"""Device cookies (OWASP "device cookies"): a browser that completed a login for an account
gets a signed cookie naming that account, and its password guesses are counted on their own.

So nobody else can lock the owner out of the password step: while strangers push the
account into its back-off, the owner's known browser still logs in with the right password.
A cookie counts only when its signature holds, it names the account being logged in to and
a login completed from it (its throttle row exists); anything else is an untrusted client.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .models import LoginThrottle, normalize_email

COOKIE_NAME = "twostep_device"
SALT = "twostep.accounts.devices"
MAX_AGE = timedelta(days=365)
_CHOSEN = "_twostep_device"  # on the request, between prepare() and set_cookie()


@dataclass(frozen=True)
class Device:
    user_id: int
    email: str
    nonce: str

    @property
    def throttle_key(self) -> str:
        return f"device:{self.user_id}:{self.nonce}"


def _secure(request: HttpRequest) -> bool:
    return settings.SESSION_COOKIE_SECURE or request.is_secure()


def _cookie_name(request: HttpRequest) -> str:
    # Over HTTPS the __Host- prefix: the browser only accepts it Secure, for this host, on /.
    return f"__Host-{COOKIE_NAME}" if _secure(request) else COOKIE_NAME


def _from_cookie(request: HttpRequest) -> Device | None:
    value = request.COOKIES.get(_cookie_name(request))
    if not value:
        return None
    try:
        data = signing.loads(value, salt=SALT, max_age=MAX_AGE)
        return Device(user_id=int(data["u"]), email=str(data["e"]), nonce=str(data["n"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def trusted_throttle_key(*, request: HttpRequest, email: str) -> str | None:
    """This browser's own throttle key for `email`, or None for an untrusted client."""
    device = _from_cookie(request)
    if device is None or device.email != normalize_email(email):
        return None
    key = device.throttle_key
    return key if LoginThrottle.objects.filter(key=key).exists() else None


def prepare(*, request: HttpRequest, user: Any) -> None:
    """After a right password: choose the device cookie this browser will hold for `user`
    (its current one when it names `user`, else a new one)."""
    device = _from_cookie(request)
    if device is None or device.user_id != user.pk or device.email != user.email:
        device = Device(user_id=user.pk, email=user.email, nonce=secrets.token_urlsafe(16))
    setattr(request, _CHOSEN, device)


def trust(*, request: HttpRequest, user: Any) -> None:
    """A login completed: the browser's device cookie for `user` (chosen by `prepare` in this
    request, or handed out at the password step before the code) now has its own counter."""
    device = getattr(request, _CHOSEN, None) or _from_cookie(request)
    if device is None or device.user_id != user.pk or device.email != user.email:
        return
    if not LoginThrottle.objects.filter(key=device.throttle_key).exists():
        try:
            with transaction.atomic():
                LoginThrottle.objects.create(
                    key=device.throttle_key, failure_count=0, updated_at=timezone.now()
                )
        except IntegrityError:  # the same browser completed two logins at once
            pass


def set_cookie(*, request: HttpRequest, response: HttpResponse) -> None:
    """Give the browser the device cookie `prepare` chose, unless it already holds it."""
    device: Device | None = getattr(request, _CHOSEN, None)
    if device is None or device == _from_cookie(request):
        return
    response.set_cookie(
        _cookie_name(request),
        signing.dumps({"u": device.user_id, "e": device.email, "n": device.nonce}, salt=SALT),
        max_age=int(MAX_AGE.total_seconds()),
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="Lax",
    )
