"""The login as one use case: what follows a right password, and completing the login."""

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils.translation import gettext

from twostep.accounts import devices, new_browser, remembered
from twostep.accounts.confirmation import mark_confirmed
from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mfa.factors import methods_unchanged, second_factor_on
from twostep.mfa.recovery_codes import ran_out
from twostep.mfa.session import mark_verified
from twostep.recovery.resets import cancel_on_login

from . import pending


def after_password(*, request: HttpRequest, user: User, next_url: str) -> bool:
    """Continue a login whose password was right. Returns True when a code is still needed.

    With 2FA on, the session only gets the short-lived pending marker, unless this browser
    is remembered for the account; otherwise the login completes here.
    """
    devices.prepare(request=request, user=user)
    if not second_factor_on(user):
        pending.clear(request)  # an older half-login in this browser is superseded
        complete_login(request=request, user=user, mfa_verified=False)
        return False
    if remembered.recognise(request=request, user=user):
        # A remembered browser of this account stands in for the second step (only here),
        # but proves no factor: the session is not "verified with a second factor".
        pending.clear(request)
        complete_login(request=request, user=user, mfa_verified=False, remembered=True)
        return False
    pending.begin(request, user, next_url=next_url)
    record(type=SecurityEvent.Type.PASSWORD_OK, subject=user, request=request)
    return True


def complete_login(
    *, request: HttpRequest, user: User, mfa_verified: bool, remembered: bool = False
) -> None:
    """Log the user in (rotating the session key), trust this browser's device cookie for
    the account, and record it.

    The login also confirms it's them for the next TWOSTEP_REAUTH_SECONDS: the password
    and any second factor it proved, a recovery code too (whoever lost their phone must be
    able to replace it or turn 2FA off; each such change emails the owner), or a passkey
    alone (two factors in one, with user verification). Not when a remembered browser stood
    in for the second factor. (The confirmation page itself takes no recovery code.)
    """
    # A remembered browser proves no factor: never "verified with a second factor". The
    # admin and the support console accept only a factor proved in the login
    # (verified_with_second_factor); vouching also accepts a window that "confirm it's
    # you" opened with a factor (confirmed_with_factor).
    mfa_verified = mfa_verified and not remembered
    with transaction.atomic():
        # Before login() and trust(): email the owner if this browser is new to the account.
        new_browser.notify_if_new(request=request, user=user)
        login(request, user, backend="twostep.accounts.backends.EmailBackend")
        devices.trust(request=request, user=user)
        mark_verified(request.session, verified=mfa_verified)
        if not remembered:
            mark_confirmed(request.session, factor=mfa_verified)
        said: dict[str, Any] = {"remembered_browser": True} if remembered else {}
        record(
            type=SecurityEvent.Type.LOGIN,
            subject=user,
            request=request,
            second_factor=mfa_verified,
            **said,
        )
        if mfa_verified:
            # The owner still holds their factor: a pending support reset must not go on.
            # (A remembered browser proves no factor: someone who lost theirs still needs
            # the reset.)
            cancel_on_login(user=user)


# The second step's methods after which the browser may be remembered: not a recovery
# code (a one-time emergency code must not become weeks without a second step).
REMEMBERING_METHODS = ("app", "key")


def remember_days(*, user: User, method: str) -> int:
    """The days "Don't ask for a code on this browser" offers after `method` (0: no box):
    only after the app or a key, and only when `remembered.offered_to(user)`."""
    if method not in REMEMBERING_METHODS or not remembered.offered_to(user):
        return 0
    return remembered.days()


def remember_if_ticked(
    *, request: HttpRequest, user: User, method: str, response: HttpResponseBase
) -> None:
    """After a second step passed with `method`: remember this browser for `user` if the
    person ticked "Don't ask for a code on this browser" and it was offered (a box posted
    where none was offered is ignored), and neither the password nor the number of methods
    changed since `user` was loaded."""
    if not request.POST.get("remember") or not remember_days(user=user, method=method):
        return
    with transaction.atomic():
        # Methods, then the account row (remember), locked in the order every change
        # takes them: a change committed since this request loaded `user` (it forgot the
        # account's remembered browsers) is seen, and nothing is remembered after it.
        if methods_unchanged(user):
            remembered.remember(request=request, user=user, response=response)


def landing(*, request: HttpRequest, user: User, next_url: str) -> str:
    """Where a login with the second factor goes: `next_url`, or first the recovery codes
    page when the account has used every code (time to generate new ones)."""
    if not ran_out(user):
        return next_url
    messages.warning(
        request, gettext("You have used all your recovery codes. Generate a new set now.")
    )
    return f"{reverse('mfa:recovery_codes')}?{urlencode({'next': next_url})}"


def record_logout(*, request: HttpRequest) -> None:
    if request.user.is_authenticated:
        record(type=SecurityEvent.Type.LOGOUT, subject=request.user, request=request)
