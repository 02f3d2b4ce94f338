"""Settings → "Where you're logged in": forgetting one remembered browser, or all of them.

POST-only (CSRF-protected), behind "confirm it's you" (the ending views' EndingMixin),
answering with the list again. This browser's cookie goes only when its own row was
among those forgotten.
"""

from typing import cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext, ngettext
from django.views import View
from django.views.decorators.http import require_POST

from . import remembered
from .models import User
from .session_views import EndingMixin, back_to_list


# require_POST around the whole dispatch: a GET is refused before "confirm it's you" asks.
@method_decorator(require_POST, name="dispatch")
class ForgettingView(EndingMixin, View):
    """Forget (`forget`: how many were forgotten, and whether this browser was among them),
    then say so and go back to the list, taking this browser's cookie back if it was."""

    nothing_level = messages.INFO  # the message when nothing was forgotten

    def forget(self, request: HttpRequest, user: User) -> tuple[int, bool]:
        raise NotImplementedError

    def said(self, forgotten: int) -> str:
        raise NotImplementedError

    def post(self, request: HttpRequest) -> HttpResponse:
        response = back_to_list()
        forgotten, this_one = self.forget(request, cast(User, request.user))
        if this_one:
            remembered.drop_cookie(request=request, response=response)
        level = messages.SUCCESS if forgotten else self.nothing_level
        messages.add_message(request, level, self.said(forgotten))
        return response


class ForgetRememberedView(ForgettingView):
    nothing_level = messages.ERROR

    def forget(self, request: HttpRequest, user: User) -> tuple[int, bool]:
        try:
            return 1, remembered.forget(request=request, user=user, id=_id(request.POST.get("id")))
        except remembered.RememberedGone:
            return 0, False

    def said(self, forgotten: int) -> str:
        if forgotten:
            return gettext("That browser is forgotten: it will be asked for a code again.")
        return gettext(
            "That browser was already forgotten, or is not one of yours: nothing changed."
        )


class ForgetAllRememberedView(ForgettingView):
    def forget(self, request: HttpRequest, user: User) -> tuple[int, bool]:
        return remembered.forget_all_here(
            request=request, user=user, reason="forgotten from Settings"
        )

    def said(self, forgotten: int) -> str:
        if not forgotten:
            return gettext("No browser was remembered: nothing changed.")
        return ngettext(
            "%(count)d browser is forgotten: it will be asked for a code again.",
            "%(count)d browsers are forgotten: each will be asked for a code again.",
            forgotten,
        ) % {"count": forgotten}


def _id(value: str | None) -> int:
    """The posted row id; anything else names no row (0)."""
    try:
        return int((value or "")[:20])
    except ValueError:
        return 0
