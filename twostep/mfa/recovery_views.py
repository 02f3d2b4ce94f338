"""The recovery codes pages: the codes shown once (after 2FA is first turned on, or from
the "Generate new codes" page: regeneration_views), how many are left, and "I have saved
them". A GET shows codes only behind the one-time grant (mfa.session) that the POST
turning 2FA on set; never on its own.

Why a tick and not typing one back: typing a code back would use it up (the set would
start at 9, with a "code used" email and event for no login), and a person can type it
straight from the page in front of them, which proves no more than the tick does. The
tick is an explicit, accessible statement that costs nothing; the page offers the download
and print to make saving easy, and until the tick Settings says the codes were not
confirmed as saved. Codes are never stored in clear, so they cannot be shown again: a
person who lost them generates a new set.
"""

from typing import Any, cast
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from twostep.accounts.models import User
from twostep.accounts.views import safe_next

from . import recovery_codes
from .factors import second_factor_on
from .forms import SavedForm
from .models import RECOVERY_CODES_PER_SET
from .session import take_recovery_codes_grant

UNSAVED_SESSION_KEY = "twostep_recovery_codes_unsaved"


def show_codes(request: HttpRequest, user: User, issued: recovery_codes.IssuedSet) -> HttpResponse:
    """The one response that holds the codes in clear: never cached, never stored."""
    request.session[UNSAVED_SESSION_KEY] = True
    codes = issued.codes
    next_url = safe_next(request, "")
    name = settings.TWOSTEP_PRODUCT_NAME
    lines = [
        gettext("%(product)s recovery codes for %(email)s")
        % {"product": name, "email": user.email},
        gettext("Generated on %(date)s UTC") % {"date": timezone.now().strftime("%Y-%m-%d %H:%M")},
        "",
        *codes,
        "",
        gettext("Each code works once. Keep them somewhere safe, away from your phone."),
    ]
    text = "\n".join(lines) + "\n"
    response = render(
        request,
        "mfa/recovery_codes_show.html",
        {
            "codes": codes,
            "replaced": issued.replaced,
            "download_href": "data:text/plain;charset=utf-8," + quote(text),
            "download_name": f"{name.lower().replace(' ', '-')}-recovery-codes.txt",
            "form": SavedForm(),
            "next": next_url,
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@login_required
def recovery_codes_page(request: HttpRequest) -> HttpResponse:
    """GET: the codes left and a link to "Generate new codes". Issues and shows the first
    set only behind this session's one-time grant, set by the POST that turned 2FA on
    (mfa.session.grant_first_recovery_codes)."""
    user = cast(User, request.user)
    if not second_factor_on(user):
        messages.info(request, gettext("Recovery codes come with two-factor authentication."))
        return redirect("accounts:settings")
    if take_recovery_codes_grant(request.session, user=user):
        try:
            issued = recovery_codes.issue_set(user, request=request, replace=False)
        except recovery_codes.NoSecondFactor:  # turned off meanwhile
            return redirect("accounts:settings")
        if issued is not None:
            return show_codes(request, user, issued)
    left = recovery_codes.codes_left(user)
    context: dict[str, Any] = {
        "none": left is None,
        "left": left or 0,
        "total": RECOVERY_CODES_PER_SET,
        "low": (left or 0) <= recovery_codes.LOW,
        "next": safe_next(request, ""),
    }
    return render(request, "mfa/recovery_codes.html", context)


@require_POST
@login_required
def saved(request: HttpRequest) -> HttpResponse:
    """'I have saved them': the tick that ends the codes page."""
    form = SavedForm(request.POST)
    next_url = safe_next(request, reverse("accounts:settings"))
    if not form.is_valid():
        # The codes cannot be shown again (they are not stored): tick, or make a new set.
        return render(
            request, "mfa/recovery_codes_saved.html", {"form": form, "next": next_url}, status=200
        )
    request.session.pop(UNSAVED_SESSION_KEY, None)
    messages.success(request, gettext("Your recovery codes are ready if you ever need them."))
    return redirect(next_url)
