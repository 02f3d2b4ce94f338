"""Pages of a recovery case for a logged-in person (a vouching manager): only a session
that proved a second factor opens them, in its login or, after a login that did not (a
remembered browser, or 2FA turned on since), through "confirm it's you" with the app or a
key (a window the password alone opened is not enough)."""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from twostep.accounts.confirmation import ask_to_confirm, confirmed_with_factor
from twostep.accounts.models import User
from twostep.mfa.factors import second_factor_on
from twostep.mfa.session import verified_with_second_factor

View = Callable[..., HttpResponse]


def mfa_login_required(view: View) -> View:
    """A logged-in person whose session passed the second factor (e.g. a vouching manager)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if verified_with_second_factor(request):
            return view(request, *args, **kwargs)
        if not second_factor_on(cast(User, request.user)):
            raise PermissionDenied("This page needs a login with two-factor authentication.")
        # A remembered browser, or a window opened by the password alone (2FA was off
        # then): prove the factor now.
        if not confirmed_with_factor(request):
            return ask_to_confirm(request, return_to=request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper
