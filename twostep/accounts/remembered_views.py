"""Settings → "Where you're logged in": forgetting one remembered browser, or all of them.

POST-only (CSRF-protected), behind "confirm it's you", answering with the list again.
"""

from typing import cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, ngettext
from django.views import View
from django.views.decorators.http import require_POST

from . import remembered
from .confirmation import ConfirmItsYouMixin
from .models import User


# require_POST around the whole dispatch: a GET is refused before "confirm it's you" asks.
@method_decorator(require_POST, name="dispatch")
class ForgetRememberedView(LoginRequiredMixin, ConfirmItsYouMixin, View):
    confirm_return_to = "accounts:sessions"

    def post(self, request: HttpRequest) -> HttpResponse:
        response = redirect("accounts:sessions")
        try:
            was_this_one = remembered.forget(
                request=request, user=cast(User, request.user), id=_id(request.POST.get("id"))
            )
        except remembered.RememberedGone:
            messages.error(
                request,
                gettext(
                    "That browser was already forgotten, or is not one of yours: nothing changed."
                ),
            )
            return response
        if was_this_one:
            remembered.drop_cookie(request=request, response=response)
        messages.success(
            request, gettext("That browser is forgotten: it will be asked for a code again.")
        )
        return response


@method_decorator(require_POST, name="dispatch")
class ForgetAllRememberedView(LoginRequiredMixin, ConfirmItsYouMixin, View):
    confirm_return_to = "accounts:sessions"

    def post(self, request: HttpRequest) -> HttpResponse:
        response = redirect("accounts:sessions")
        forgotten = remembered.forget_all(
            user=cast(User, request.user), request=request, reason="forgotten from Settings"
        )
        if forgotten:
            remembered.drop_cookie(request=request, response=response)
            text = ngettext(
                "%(count)d browser is forgotten: it will be asked for a code again.",
                "%(count)d browsers are forgotten: each will be asked for a code again.",
                forgotten,
            ) % {"count": forgotten}
            messages.success(request, text)
        else:
            messages.info(request, gettext("No browser was remembered: nothing changed."))
        return response


def _id(value: str | None) -> int:
    """The posted row id; anything else names no row (0)."""
    try:
        return int((value or "")[:20])
    except ValueError:
        return 0
