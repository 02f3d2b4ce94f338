"""'Confirm it's you' (sudo mode): a short window, kept server-side in the session, within
which actions that could lock the person out (or change another account) may go ahead.

The window opens in two ways. The confirmation page (twostep.login.confirm) opens it on the
password and, when 2FA is on, an app code or a security key: that page accepts no recovery
code. A login opens it when it proved a second factor: any of them, a recovery code too
(whoever lost their phone must be able to replace it or turn 2FA off; every such change
emails the owner), or a passkey (two factors in one, with user verification); never a
browser remembered instead of the second step. It closes TWOSTEP_REAUTH_SECONDS later,
however busy the session is meanwhile. The session also keeps whether a second factor
opened the window (`confirmed_with_factor`): a password alone, with 2FA off at the time,
opens it for the person's own settings but not for vouching for someone else.

This module is the gate, below everything that needs it: a view that needs a recent
confirmation asks `confirm_required(request)`, or inherits `ConfirmItsYouMixin`. A form
posted after the window closed is not lost: its fields named in `keep` (never a password or
a code) wait in the session, for TWOSTEP_REAUTH_SECONDS at most, and come back into the form
only once the person has confirmed (an abandoned confirmation leaves nothing pre-filled).
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
CONFIRMED_WITH_FACTOR = "twostep_confirmed_with_factor"
STASH = "twostep_confirm_stash"


def mark_confirmed(session: SessionBase, *, factor: bool) -> None:
    """Open the window: the person proved it is them just now, with a second factor
    (`factor`) or with the password alone (2FA off)."""
    session[CONFIRMED_AT] = time.time()
    session[CONFIRMED_WITH_FACTOR] = factor


def confirmed_at(session: SessionBase) -> float | None:
    at = session.get(CONFIRMED_AT)
    return float(at) if isinstance(at, int | float) else None


def confirmed(request: HttpRequest) -> bool:
    """The session confirmed it's them less than TWOSTEP_REAUTH_SECONDS ago."""
    at = confirmed_at(request.session)
    return at is not None and 0 <= time.time() - at < settings.TWOSTEP_REAUTH_SECONDS


def confirmed_with_factor(request: HttpRequest) -> bool:
    """`confirmed`, and the window was opened by a second factor (not a password alone)."""
    return confirmed(request) and request.session.get(CONFIRMED_WITH_FACTOR) is True


def wants_json(request: HttpRequest) -> bool:
    """A script (webauthn.js) asks for JSON; a form sent without it gets a page."""
    return "application/json" in request.headers.get("Accept", "")


def confirm_url(return_to: str, purpose: str | None = None) -> str:
    """The confirmation page, coming back to `return_to` afterwards; `purpose` (the URL
    name of the gated view) says what for when `return_to` cannot (it is another page)."""
    query = {"next": return_to, **({"for": purpose} if purpose else {})}
    return f"{reverse('login:confirm')}?{urlencode(query)}"


def ask_to_confirm(
    request: HttpRequest,
    *,
    return_to: str | None = None,
    keep: tuple[str, ...] = (),
    purpose: str | None = None,
) -> HttpResponse:
    """Send the person to the confirmation page, which brings them back to `return_to`
    (this page by default) and says what it is for (`purpose`, else read from
    `return_to`). A POST's fields named in `keep` wait in the session for the
    form at `return_to`. A script asking for JSON gets a 403 whose `error` says why and
    whose `redirect` is the confirmation page (webauthn.js shows one, then follows the
    other)."""
    return_to = return_to or request.get_full_path()
    if request.method == "POST" and keep:
        _stash(request, return_to, keep)
    if wants_json(request):
        message = gettext(
            "Confirm it's you first. Taking you there… Then you will come back here to "
            "submit again."
        )
        return JsonResponse(
            {"error": message, "redirect": confirm_url(return_to, purpose)}, status=403
        )
    if request.method == "POST":
        messages.info(
            request,
            gettext("Confirm it's you first. Then check the form and submit it again."),
        )
    return redirect(confirm_url(return_to, purpose))


def confirm_required(
    request: HttpRequest,
    *,
    return_to: str | None = None,
    keep: tuple[str, ...] = (),
    purpose: str | None = None,
) -> HttpResponse | None:
    """The gate: None when the session confirmed it's them recently, else the answer that
    asks them to (ask_to_confirm, with `return_to`, `keep` and `purpose`)."""
    if confirmed(request):
        return None
    return ask_to_confirm(request, return_to=return_to, keep=keep, purpose=purpose)


def _stash(request: HttpRequest, return_to: str, keep: tuple[str, ...]) -> None:
    kept = {n: request.POST.get(n, "")[:500] for n in keep if n in request.POST}
    path = return_to.split("?", 1)[0]
    request.session[STASH] = {"path": path, "data": kept, "at": time.time()}


def take_stash(request: HttpRequest) -> dict[str, str]:
    """The fields a form posted before confirming, if they were kept for this page, the
    session has confirmed since, and they are less than TWOSTEP_REAUTH_SECONDS old (used
    up). Too old, dropped; not confirmed yet, left waiting."""
    stash = request.session.get(STASH)
    if not isinstance(stash, dict):
        return {}
    at = stash.get("at")
    age = time.time() - at if isinstance(at, int | float) else None
    if age is None or not 0 <= age < settings.TWOSTEP_REAUTH_SECONDS:
        del request.session[STASH]
        return {}
    if stash.get("path") != request.path or not confirmed(request):
        return {}
    del request.session[STASH]
    data = stash.get("data")
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


class ConfirmItsYouMixin:
    """For a view whose every request needs a recent confirmation: put it after
    LoginRequiredMixin. A POST-only view names in `confirm_return_to` the page the person
    comes back to (where they can submit again) and, when that page does not say it, in
    `confirm_purpose` its own URL name (the confirmation page says what it is for); a
    FormView gets the kept fields back as initial values."""

    confirm_keep_fields: tuple[str, ...] = ()
    confirm_return_to: str | None = None  # a URL name; None: this page
    confirm_purpose: str | None = None  # a URL name in login.confirm_purposes

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            return_to = reverse(self.confirm_return_to) if self.confirm_return_to else None
            asked = confirm_required(
                request,
                return_to=return_to,
                keep=self.confirm_keep_fields,
                purpose=self.confirm_purpose,
            )
            if asked is not None:
                return asked
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()  # type: ignore[misc]
        if self.request.method == "GET":  # type: ignore[attr-defined]
            initial.update(take_stash(self.request))  # type: ignore[attr-defined]
        return initial
