"""Remembered browsers: "Don't ask for a code on this browser for 30 days".

Unlike a signed cookie, a remembered browser is a row (RememberedBrowser), so it can be
listed in Settings and forgotten one at a time. The browser's cookie holds 256 random bits
from `secrets`; the row keeps only their SHA-256 (the token is random, so a fast hash is
enough: nothing to guess from it). The cookie stands in for the second step only: the
password step asks `recognise` after a right password, for that account only, and "confirm
it's you" never asks it. Such a login proves no factor: its session is not "verified with
a second factor", and staff (whose pages need a factor proved in the login) are neither
offered it nor recognised.

The cookie's name contains TOKEN, so Django's error reports hide its value (their filter
hides every cookie and setting whose name says it is secret).

Forgotten all at once (`forget_all`, with an audit event, in the transaction of the change)
by a password change or reset (the admin's too, with the agent as actor), "This wasn't
me", any change to the account's second factors (twostep.mfa.factors,
twostep.mfa.recovery_codes), and staff granted in the admin.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, describe_browser, record

from . import cookies
from .models import RememberedBrowser, User

COOKIE_NAME = "twostep_remember_token"
TOKEN_BYTES = 32  # 256 bits
LONGEST_TOKEN = 100  # a cookie longer than any token we hand out is not looked up


def days() -> int:
    """For how many days a browser is remembered; 0: the offer is off."""
    return int(settings.TWOSTEP_REMEMBER_DAYS)  # 0–400, checked at start-up


def offered() -> bool:
    return days() > 0


def offered_to(user: User) -> bool:
    """Whether `user` may have a remembered browser: the offer is on and they are not
    staff (the admin and the support console need a factor proved in the login)."""
    return offered() and not user.is_staff


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@sensitive_variables("token")
def _browser_hash(request: HttpRequest) -> str | None:
    """The hash of this browser's remember cookie, if it has one."""
    token = cookies.read(request, COOKIE_NAME)
    if token is None or len(token) > LONGEST_TOKEN:
        return None
    return _hash(token)


def _live(user: User):
    """The account's rows still usable: not expired, and remembered less than `days()`
    ago (lowering the setting shortens the browsers already remembered). None while the
    account is staff (as saved: granting staff forgets them, any left over stay unusable)."""
    now = timezone.now()
    return RememberedBrowser.objects.filter(
        user=user,
        user__is_staff=False,
        expires_at__gt=now,
        created_at__gt=now - timedelta(days=days()),
    )


@sensitive_variables("token")
def remember(*, request: HttpRequest, user: User, response: HttpResponseBase) -> bool:
    """After a second step passed with the box ticked: remember this browser for `user`
    for `days()` days (a new row and cookie; the browser's earlier row for the account and
    the account's expired rows go). Recorded. False, doing nothing, when the offer is off,
    `user` is staff (`offered_to`), or the password changed since `user` was loaded."""
    if not offered_to(user):
        return False
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    agent = request.META.get("HTTP_USER_AGENT", "")
    earlier = _browser_hash(request)
    with transaction.atomic():
        # Under the account row's lock: a password changed since `user` was loaded forgot
        # the account's browsers, and this one must not outlive that change.
        if not User.objects.select_for_update().filter(pk=user.pk, password=user.password).exists():
            return False
        RememberedBrowser.objects.filter(user=user).exclude(pk__in=_live(user)).delete()
        if earlier is not None:
            RememberedBrowser.objects.filter(user=user, token_hash=earlier).delete()
        row = RememberedBrowser.objects.create(
            user=user,
            token_hash=_hash(token),
            label=describe_browser(agent)[:100],
            ip=client_ip(request),
            created_at=now,
            expires_at=now + timedelta(days=days()),
        )
        record(
            type=SecurityEvent.Type.BROWSER_REMEMBERED,
            subject=user,
            request=request,
            remembered=row.pk,
            days=days(),
        )
    cookies.give(request, response, COOKIE_NAME, token, max_age=days() * 86400)
    return True


def recognise(*, request: HttpRequest, user: User) -> bool:
    """After a right password: does this browser's cookie name a live remembered browser of
    `user`? If so its "last used" moves to now. One UPDATE (none without a cookie, nor for
    staff): a forged, expired or forgotten cookie, one remembered longer ago than `days()`,
    or one of another account, matches no row."""
    browser = _browser_hash(request)
    if browser is None or not offered_to(user):
        return False
    return bool(_live(user).filter(token_hash=browser).update(last_used_at=timezone.now()))


def holds(*, request: HttpRequest, user: User) -> bool:
    """This browser is a live remembered browser of `user` (the new-browser email asks)."""
    browser = _browser_hash(request)
    return browser is not None and _live(user).filter(token_hash=browser).exists()


@dataclass(frozen=True)
class RememberedInfo:
    id: int
    label: str
    ip: str | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime
    current: bool


def remembered_of(*, request: HttpRequest, user: User) -> list[RememberedInfo]:
    """The account's live remembered browsers, this browser's first, then the newest."""
    browser = _browser_hash(request)
    found = [
        RememberedInfo(
            id=row.pk,
            label=row.label,
            ip=row.ip,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            expires_at=row.expires_at,
            current=row.token_hash == browser,
        )
        for row in _live(user)
    ]
    return sorted(found, key=lambda r: not r.current)  # stable: newest first otherwise


class RememberedGone(Exception):
    """No such remembered browser of this account (forgotten already, expired, or someone
    else's)."""


def forget(*, request: HttpRequest, user: User, id: int) -> bool:
    """Forget one of the account's remembered browsers, recorded. Returns whether it was
    this browser. Raises RememberedGone, changing nothing, when there is no such live row of
    this account."""
    with transaction.atomic():
        row = _live(user).filter(pk=id).first()
        # One DELETE of the account's row: two forgets at once, one of them deletes it.
        if row is None or not RememberedBrowser.objects.filter(pk=id, user=user).delete()[0]:
            raise RememberedGone
        record(
            type=SecurityEvent.Type.REMEMBERED_BROWSER_FORGOTTEN,
            subject=user,
            request=request,
            remembered=row.pk,
            browser=row.label,
        )
    return row.token_hash == _browser_hash(request)


def forget_all(
    *, user: User, request: HttpRequest | None, reason: str, actor: User | None = None
) -> int:
    """Forget every remembered browser of `user` and record it with `reason` (when there
    were any). Call inside the transaction of the change that demands it. The actor is
    `actor` when given (an agent in the admin), else the owner; `request` None (the worker)
    records none. Returns how many were forgotten."""
    return len(_forget_all(user=user, request=request, reason=reason, actor=actor))


def forget_all_here(*, request: HttpRequest, user: User, reason: str) -> tuple[int, bool]:
    """`forget_all`, and whether this browser was among those forgotten (its cookie may go;
    a browser shared with another account keeps that account's cookie)."""
    hashes = _forget_all(user=user, request=request, reason=reason)
    return len(hashes), _browser_hash(request) in hashes


def _forget_all(
    *, user: User, request: HttpRequest | None, reason: str, actor: User | None = None
) -> set[str]:
    """The hashes of the live rows forgotten (every row of the account goes)."""
    if request is None:
        actor = None
    elif actor is None:
        actor = user
    with transaction.atomic():
        live = set(_live(user).select_for_update().values_list("token_hash", flat=True))
        RememberedBrowser.objects.filter(user=user).delete()
        if live:  # counted: the ones that could still be used
            record(
                type=SecurityEvent.Type.REMEMBERED_BROWSERS_FORGOTTEN,
                subject=user,
                actor=actor,
                request=request,
                count=len(live),
                reason=reason,
            )
    return live


def drop_cookie(*, request: HttpRequest, response: HttpResponseBase) -> None:
    """Take this browser's remember cookie back (its row is gone)."""
    cookies.take_back(request, response, COOKIE_NAME)
