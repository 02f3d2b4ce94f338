"""'Generate new recovery codes' (or the first ones, for an account that had 2FA before
codes existed): a page of its own behind a recent "confirm it's you"
(accounts.confirmation). The confirmation page takes the password and an app code or a
key, never a recovery code; a login opens the window too, with any second factor it
proved, a recovery code included (whoever holds the password and a code could turn 2FA
off and on again anyway, and a new set emails the owner). Within that window the page asks
nothing further: its warning and one button.
"""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views import View
from django.views.decorators.cache import never_cache

from twostep.accounts.confirmation import ConfirmItsYouMixin
from twostep.accounts.models import User
from twostep.accounts.views import safe_next

from . import recovery_codes
from .factors import second_factor_on
from .recovery_views import show_codes


def _off(request: HttpRequest) -> HttpResponse:
    messages.info(request, gettext("Recovery codes come with two-factor authentication."))
    return redirect("accounts:settings")


@method_decorator(never_cache, name="dispatch")
class RegenerateView(LoginRequiredMixin, ConfirmItsYouMixin, View):
    """GET: what a new set does (the old codes stop working). POST: the new set, made and
    shown once."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not second_factor_on(cast(User, request.user)):
            return _off(request)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        user = cast(User, request.user)
        context = {
            "has_set": recovery_codes.codes_left(user) is not None,
            "next": safe_next(request, ""),
        }
        return render(request, "mfa/recovery_codes_new.html", context)

    def post(self, request: HttpRequest) -> HttpResponse:
        user = cast(User, request.user)
        try:
            issued = recovery_codes.issue_set(user, request=request)
        except recovery_codes.NoSecondFactor:  # turned off meanwhile
            return _off(request)
        assert issued is not None  # replace=True always makes a set
        return show_codes(request, user, issued)
