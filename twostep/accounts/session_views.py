"""Settings → "Where you're logged in": the list, ending one session, or all the others.

Ending is POST-only (CSRF-protected), after a recent "confirm it's you", and answers with
the list again; refused for want of one, the person confirms, comes back to the list and
presses again.
"""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext, ngettext
from django.views import View
from django.views.generic import TemplateView

from .confirmation import ConfirmItsYouMixin
from .models import User
from .remembered import remembered_of
from .session_list import SessionGone, end_others, end_session, sessions_of


class SessionsView(LoginRequiredMixin, TemplateView):
    template_name = "accounts/sessions.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = cast(User, self.request.user)
        listed = sessions_of(user, current_key=self.request.session.session_key)
        others = any(not s.current for s in listed)
        browsers = remembered_of(request=self.request, user=user)
        return super().get_context_data(
            sessions=listed, others=others, remembered=browsers, **kwargs
        )


def back_to_list() -> HttpResponse:
    return redirect("accounts:sessions")


class EndingMixin(LoginRequiredMixin, ConfirmItsYouMixin):
    confirm_return_to = "accounts:sessions"


class EndSessionView(EndingMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user = cast(User, request.user)
        try:
            end_session(request=request, user=user, id=request.POST.get("session", "")[:64])
        except SessionGone:
            messages.error(
                request,
                gettext("That session had already ended, or is not one of yours: nothing changed."),
            )
        else:
            messages.success(request, gettext("The session is ended: that browser is logged out."))
        return back_to_list()


class EndOtherSessionsView(EndingMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        ended = end_others(request=request, user=cast(User, request.user))
        if ended:
            text = ngettext(
                "You are logged out of %(count)d other session.",
                "You are logged out of %(count)d other sessions.",
                ended,
            ) % {"count": ended}
        else:
            text = gettext("There was no other session to end.")
        messages.success(request, text)
        return back_to_list()
