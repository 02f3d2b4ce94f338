"""The locked-out person's pages, reached from mailed links (no login), and the owner's
cancel button on a pending reset."""

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from twostep.accounts.models import User
from twostep.accounts.views import safe_next
from twostep.chat import services as chat
from twostep.chat.pages import messages_json, thread_context

from . import confirmation, intake, links, resets
from .cases import RecoveryError
from .models import RecoveryCase

# A mailed link's token is exchanged for a session value at once and the browser sent to
# the same page without it, as Django's password reset does: the token then appears in no
# later request line, access log or Referer header.
LINK_PAGES = {
    "confirm": ("recovery_confirm_token", "recovery:confirm_page"),
    "access": ("recovery_case_token", "recovery:case_page"),
    "cancel": ("recovery_cancel_token", "recovery:cancel_page"),
}


def open_link(request: HttpRequest, token: str, purpose: str) -> HttpResponse:
    """A mailed link: keep its token in the session and go to the page without it."""
    found = (
        links.cancel_by_link(token=token)
        if purpose == "cancel"
        else links.case_by_link(token=token, purpose=purpose)
    )
    if found is None:
        return render(request, "recovery/link_invalid.html", status=404)
    session_key, page = LINK_PAGES[purpose]
    request.session[session_key] = token
    return redirect(page)


def _linked_case(request: HttpRequest, purpose: str) -> RecoveryCase | None:
    """The case the link kept in this session opens, if it still does."""
    token = request.session.get(LINK_PAGES[purpose][0], "")
    return links.case_by_link(token=token, purpose=purpose)


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "recovery/link_invalid.html", status=404)


def confirm(request: HttpRequest) -> HttpResponse:
    """The account's mailbox proves a request: buttons, so that mail scanners that open
    links do not confirm on their own.

    The link is the same for every request on the case, and anyone can file one: so the
    owner is shown what was received (the opening request and the latest claims) and
    says which one is theirs, whose words then become the person's; or that it is them
    but none of these is what they wrote (the mailbox is confirmed, no words adopted);
    or that none is, which cancels the case in their name and tells them to secure
    their account.
    """
    case = _linked_case(request, "confirm")
    if case is None or case.account is None:  # an account deleted while the case was open
        return _invalid(request)
    error = ""
    if request.method == "POST":
        if request.POST.get("answer") == "not_mine":
            confirmation.disown(case=case)
            return render(request, "recovery/disowned.html", {"case": case})
        none_of_these = request.POST.get("answer") == "none_of_these"
        try:
            confirmation.confirm_mailbox(
                case=case, request_id=_request_id(request), none_of_these=none_of_these
            )
        except RecoveryError as refused:
            error = str(refused)
        else:
            return render(
                request,
                "recovery/confirmed.html",
                {"case": case, "none_of_these": none_of_these},
            )
    return render(
        request,
        "recovery/confirm.html",
        {"case": case, "requests": intake.requests_to_confirm(case), "error": error},
        status=400 if error else 200,
    )


def _request_id(request: HttpRequest) -> int | None:
    value = request.POST.get("request", "")
    # isdecimal() alone accepts other scripts' digits; isdigit() even "²", which int() refuses.
    return int(value) if value.isascii() and value.isdecimal() and len(value) < 12 else None


def case_page(request: HttpRequest) -> HttpResponse:
    """The person follows their case and talks to support. Never logs in, never touches 2FA."""
    case = _linked_case(request, "access")
    if case is None:
        return _invalid(request)
    error = ""
    if request.method == "POST":
        try:
            chat.post(conversation=case.conversation, body=request.POST.get("body", ""))
        except chat.MessageRefused as refused:
            error = str(refused)
        else:
            return redirect("recovery:case_page")
    context = thread_context(
        conversation_id=case.conversation_id,
        poll_url=reverse("recovery:case_messages"),
        post_url=reverse("recovery:case_page"),
        viewer="person",
    )
    context.update(case=case, chat_error=error)
    return render(request, "recovery/case_public.html", context, status=400 if error else 200)


def case_messages(request: HttpRequest) -> JsonResponse:
    case = _linked_case(request, "access")
    if case is None:
        raise Http404("This link is invalid or no longer works.")
    return messages_json(request, conversation_id=case.conversation_id)


def cancel(request: HttpRequest) -> HttpResponse:
    """The owner's cancel link, or a manager's own one (mailed during the cooling-off)."""
    found = links.cancel_by_link(token=request.session.get(LINK_PAGES["cancel"][0], ""))
    if found is None:
        return _invalid(request)
    case, manager = found
    if request.method == "POST":
        reason = (
            "cancelled by the owner from the email link"
            if manager is None
            else "cancelled by a manager of the person's organization from the email link"
        )
        resets.cancel(case=case, reason=reason, actor=manager)
        return render(request, "recovery/cancelled.html", {"case": case})
    return render(request, "recovery/cancel.html", {"case": case})


@require_POST
@login_required
def cancel_pending(request: HttpRequest) -> HttpResponse:
    """The owner stops a pending reset from the banner of any logged-in page."""
    if resets.cancel_pending_reset(user=cast(User, request.user)):
        messages.success(
            request, gettext("The reset of your two-factor authentication is cancelled.")
        )
    return redirect(safe_next(request, reverse("accounts:profile")))
