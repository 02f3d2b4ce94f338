"""Device cookies (OWASP "device cookies"): a browser that completed a login for an account
gets a signed cookie naming that account, and its password guesses are counted on their own.

So nobody else can lock the owner out of the password step: while strangers push the
account into its back-off, the owner's known browser still logs in with the right password.
A cookie counts only when its signature holds, it names the account being logged in to (by
user id and email, so a cookie outlives no change of hands of an address) and a login
completed from it (its throttle row exists); anything else is an untrusted client.

Trust is bounded, so saved cookies cannot multiply guesses: an account keeps at most
MAX_TRUSTED browsers (the most recently used), their failures also count against one total
per account (twostep.login.password), and a password change or reset forgets them all
(`forget`).
"""

import secrets
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Exists, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from twostep.audit.services import client_ip

from . import cookies, remembered
from .models import LoginThrottle, User, UserSession, normalize_email

COOKIE_NAME = "twostep_device"
SALT = "twostep.accounts.devices"
MAX_AGE = timedelta(days=365)
MAX_TRUSTED = 10  # browsers trusted per account; the least recently used are forgotten
_CHOSEN = "_twostep_device"  # on the request, between prepare() and set_cookie()
_ALREADY_TRUSTED = "_twostep_device_trusted"  # prepare() found the browser's cookie trusted
_CHECKED = "_twostep_device_checked"  # (device, trusted): the lookup, once per request


@dataclass(frozen=True)
class Device:
    user_id: int
    email: str
    nonce: str
    # The password step's judgement for the login it began (prepare): until when it holds
    # (the pending login's life) and whether the browser is new to the account. In the
    # signed cookie, so completing the login in a later request costs no statement for it.
    judged: tuple[float, bool] | None = None

    @property
    def throttle_key(self) -> str:
        return f"{_prefix(self.user_id)}{self.nonce}"


def _prefix(user_id: int) -> str:
    return f"device:{user_id}:"


def total_key(user_id: int) -> str:
    """The key counting the failures of all the account's trusted browsers together."""
    return f"devices:{user_id}"


def _new_device(user: User) -> Device:
    return Device(user_id=user.pk, email=user.email, nonce=secrets.token_urlsafe(16))


def _is_trusted(device: Device) -> bool:
    """A login completed from this cookie, and its account still has the cookie's email."""
    same_account = User.objects.filter(pk=device.user_id, email=device.email)
    return (
        LoginThrottle.objects.filter(key=device.throttle_key).filter(Exists(same_account)).exists()
    )


def _trusted(request: HttpRequest, device: Device) -> bool:
    """`_is_trusted`, looked up once per request: the password step asks before counting
    the attempt (trusted_device) and again after a right password (prepare)."""
    checked = getattr(request, _CHECKED, None)
    if checked is None or checked[0] != device:
        checked = (device, _is_trusted(device))
        setattr(request, _CHECKED, checked)
    return checked[1]


def distrust(*, request: HttpRequest) -> None:
    """The browser's device turned out forgotten in this request: look it up again."""
    if hasattr(request, _CHECKED):
        delattr(request, _CHECKED)


def _from_cookie(request: HttpRequest) -> Device | None:
    value = cookies.read(request, COOKIE_NAME)
    if not value:
        return None
    try:
        data = signing.loads(value, salt=SALT, max_age=MAX_AGE)
        judged = data.get("j")
        return Device(
            user_id=int(data["u"]),
            email=str(data["e"]),
            nonce=str(data["n"]),
            judged=(float(judged[0]), bool(judged[1])) if judged else None,
        )
    except (signing.BadSignature, KeyError, IndexError, TypeError, ValueError):
        return None


def trusted_device(*, request: HttpRequest, email: str) -> Device | None:
    """This browser's trusted device for the account of `email`, or None for an untrusted
    client."""
    device = _from_cookie(request)
    if device is None or device.email != normalize_email(email) or not _trusted(request, device):
        return None
    return device


def prepare(*, request: HttpRequest, user: User) -> None:
    """After a right password: choose the device cookie this browser will hold for `user`
    (its current one when it is trusted for `user`, else a new one: a cookie forgotten by a
    password change is never trusted again, nor are copies of it)."""
    device = _from_cookie(request)
    trusted = (
        device is not None
        and (device.user_id, device.email) == (user.pk, user.email)
        and _trusted(request, device)
    )
    # Is the browser new to the account? Judged here, where the device lookup is done
    # already, and carried in the cookie to the login's completion (new_to_account).
    until = timezone.now().timestamp() + settings.TWOSTEP_PENDING_LOGIN_SECONDS
    judged = (until, _new_to_account(request, user, trusted=trusted))
    chosen = device if trusted and device is not None else _new_device(user)
    setattr(request, _CHOSEN, replace(chosen, judged=judged))
    setattr(request, _ALREADY_TRUSTED, trusted)


def _new_to_account(request: HttpRequest, user: User, *, trusted: bool) -> bool:
    """A browser new to `user`: no trusted device cookie for the account, not one of its
    remembered browsers, no live session of the account from the same address and
    User-Agent, and the account logged in before (a first login has nothing to compare
    with)."""
    if trusted or user.last_login is None:
        return False
    agent = request.META.get("HTTP_USER_AGENT", "")[:300]
    live = UserSession.objects.filter(user=user, expire_date__gt=timezone.now())
    if live.filter(ip=client_ip(request), user_agent=agent).exists():
        return False
    return not remembered.holds(request=request, user=user)


def new_to_account(*, request: HttpRequest, user: User) -> bool:
    """Whether the browser completing a login for `user` is new to the account, as judged
    at its password step (`prepare`, this request's or the cookie's), or now for a login
    that had none."""
    device = getattr(request, _CHOSEN, None) or _from_cookie(request)
    if device is not None and device.user_id == user.pk and device.judged is not None:
        until, new = device.judged
        if until >= timezone.now().timestamp():
            return new
    return _new_to_account(
        request, user, trusted=trusted_device(request=request, email=user.email) is not None
    )


def trust(*, request: HttpRequest, user: User) -> None:
    """A login completed: the browser's device cookie for `user` (chosen by `prepare` in this
    request, or handed out at the password step before the code) now has its own counter."""
    if getattr(request, _ALREADY_TRUSTED, False):
        return  # prepare() found this browser's cookie trusted in this very request
    device = getattr(request, _CHOSEN, None) or _from_cookie(request)
    if device is None or device.user_id != user.pk or device.email != user.email:
        return
    # One INSERT … ON CONFLICT DO NOTHING: the same browser may complete two logins at once.
    LoginThrottle.objects.bulk_create(
        [LoginThrottle(key=device.throttle_key, failure_count=0, updated_at=timezone.now())],
        ignore_conflicts=True,
    )
    _keep_most_recent(user_id=user.pk)


def _keep_most_recent(*, user_id: int) -> None:
    """Forget the account's trusted browsers beyond the MAX_TRUSTED most recently used (a row's
    `updated_at` moves with each password step from it), in one DELETE."""
    rows = LoginThrottle.objects.filter(key__startswith=_prefix(user_id))
    recent = rows.order_by("-updated_at", "-pk").values("pk")[:MAX_TRUSTED]
    rows.exclude(pk__in=Subquery(recent)).delete()


def forget(*, request: HttpRequest, user: User, keep_this_browser: bool) -> None:
    """Forget every trusted browser of `user` and their shared failure count: call it when
    the password changes, whoever saved a cookie gets no more guesses of their own.

    With `keep_this_browser` (a change made from a logged-in session) this browser stays
    trusted under a new cookie, given by `set_cookie`, so a copy of its old one is not.
    """
    LoginThrottle.objects.filter(
        Q(key__startswith=_prefix(user.pk)) | Q(key=total_key(user.pk))
    ).delete()
    if keep_this_browser:
        device = _new_device(user)
        LoginThrottle.objects.create(
            key=device.throttle_key, failure_count=0, updated_at=timezone.now()
        )
        setattr(request, _CHOSEN, device)


def _cookie_data(device: Device) -> dict:
    data: dict = {"u": device.user_id, "e": device.email, "n": device.nonce}
    if device.judged is not None:
        data["j"] = list(device.judged)
    return data


def set_cookie(*, request: HttpRequest, response: HttpResponse) -> None:
    """Give the browser the device cookie `prepare` chose, unless it already holds it."""
    device: Device | None = getattr(request, _CHOSEN, None)
    if device is None or device == _from_cookie(request):
        return
    value = signing.dumps(_cookie_data(device), salt=SALT)
    cookies.give(request, response, COOKIE_NAME, value, max_age=int(MAX_AGE.total_seconds()))
