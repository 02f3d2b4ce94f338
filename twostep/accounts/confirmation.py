"""'Confirm it's you' (sudo mode): a short window, kept server-side in the session, within
which actions that could lock the person out (or change another account) may go ahead.

The window opens when the person proves it is them (their password and, when 2FA is on, a
second factor that is neither a recovery code nor a remembered browser: the confirmation
page in twostep.login) or when a login with those proofs completes. It closes
TWOSTEP_REAUTH_SECONDS later, however busy the session is meanwhile.

This module is the gate, below everything that needs it: a view that needs a recent
confirmation asks `confirmed(request)`, or inherits `ConfirmItsYouMixin`. A form posted
after the window closed is not lost: its fields named in `confirm_keep_fields` (never a
password or a code) are kept in the session and put back into the form when the person
returns from confirming.
"""

import time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext

CONFIRMED_AT = "twostep_confirmed_at"
STASH = "twostep_confirm_stash"


def mark_confirmed(session: SessionBase) -> None:
    """Open the window: the person proved it is them just now."""
    session[CONFIRMED_AT] = time.time()


def forget_confirmation(session: SessionBase) -> None:
    session.pop(CONFIRMED_AT, None)


def confirmed_at(session: SessionBase) -> float | None:
    at = session.get(CONFIRMED_AT)
    return float(at) if isinstance(at, int | float) else None


def confirmed(request: HttpRequest) -> bool:
    """The session confirmed it's them less than TWOSTEP_REAUTH_SECONDS ago."""
    at = confirmed_at(request.session)
    return at is not None and 0 <= time.time() - at < settings.TWOSTEP_REAUTH_SECONDS


def wants_json(request: HttpRequest) -> bool:
    """A script (webauthn.js) asks for JSON; a form sent without it gets a page."""
    return "application/json" in request.headers.get("Accept", "")


def confirm_url(return_to: str) -> str:
    """The confirmation page, coming back to `return_to` afterwards."""
    return f"{reverse('login:confirm')}?{urlencode({'next': return_to})}"


def ask_to_confirm(
    request: HttpRequest, *, return_to: str | None = None, keep: tuple[str, ...] = ()
) -> HttpResponse:
    """Send the person to the confirmation page, which brings them back to `return_to`
    (this page by default). A POST's fields named in `keep` wait in the session for the
    form at `return_to`. A script asking for JSON gets a 403 whose `error` says why and
    whose `redirect` is the confirmation page (webauthn.js shows one, then follows the
    other)."""
    return_to = return_to or request.get_full_path()
    if wants_json(request):
        message = gettext("Confirm it's you first. Taking you there…")
        return JsonResponse({"error": message, "redirect": confirm_url(return_to)}, status=403)
    if request.method == "POST":
        if keep:
            kept = {n: request.POST.get(n, "")[:500] for n in keep if n in request.POST}
            request.session[STASH] = {"path": return_to.split("?", 1)[0], "data": kept}
        messages.info(
            request,
            gettext("Confirm it's you first. Then check the form and submit it again."),
        )
    return redirect(confirm_url(return_to))


def take_stash(request: HttpRequest) -> dict[str, str]:
    """The fields a form posted before confirming, if they were kept for this page (used
    up)."""
    stash = request.session.get(STASH)
    if not isinstance(stash, dict) or stash.get("path") != request.path:
        return {}
    del request.session[STASH]
    data = stash.get("data")
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


class ConfirmItsYouMixin:
    """For a view whose every request needs a recent confirmation: put it after
    LoginRequiredMixin. A POST-only view names in `confirm_return_to` the page the person
    comes back to (where they can submit again); a FormView gets the kept fields back as
    initial values."""

    confirm_keep_fields: tuple[str, ...] = ()
    confirm_return_to: str | None = None  # a URL name; None: this page

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not confirmed(request):
            return_to = reverse(self.confirm_return_to) if self.confirm_return_to else None
            return ask_to_confirm(request, return_to=return_to, keep=self.confirm_keep_fields)
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()  # type: ignore[misc]
        if self.request.method == "GET":  # type: ignore[attr-defined]
            initial.update(take_stash(self.request))  # type: ignore[attr-defined]
        return initial
