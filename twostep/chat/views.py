"""HTTP for the person's side of the support chat. Each view calls chat.services and
renders, redirects or answers JSON; none writes through the ORM. Support's side of the
chat is the console's (twostep.support)."""

from typing import cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from twostep.accounts.models import User

from . import services
from .models import MAX_MESSAGE_LENGTH
from .pages import BAD_AFTER, thread_context


def draft(body: str) -> str:
    """A refused message is offered back for editing, unless it is far too long to."""
    return body if len(body) <= 5 * MAX_MESSAGE_LENGTH else ""


@require_http_methods(["GET", "POST"])
def help_page(request: HttpRequest) -> HttpResponse:
    """Where "Need help?" leads: a logged-in person's conversation with support, or for a
    visitor, the ways to reach support without an account session."""
    if not request.user.is_authenticated:
        return render(request, "chat/help_anonymous.html")
    user = cast(User, request.user)
    error = refused_draft = ""
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            services.post_for_user(user=user, body=body)
        except services.MessageRefused as refused:
            error, refused_draft = str(refused), draft(body)
        else:
            return redirect(reverse("chat:help") + "#chat")
    context = thread_context(
        conversation_id=services.conversation_id_for_user(user=user),
        poll_url=reverse("chat:poll"),
        post_url=reverse("chat:help"),
        viewer="person",
    )
    context.update(chat_error=error, chat_draft=refused_draft)
    return render(request, "chat/help.html", context, status=400 if error else 200)


@never_cache
@require_GET
def poll(request: HttpRequest) -> JsonResponse:
    """New messages in the logged-in person's own conversation (no id to ask for another)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Log in to follow your conversation."}, status=403)
    after = services.poll_position(request.GET.get("after"))
    if after is None:
        return JsonResponse(BAD_AFTER, status=400)
    user = cast(User, request.user)
    return JsonResponse({"messages": services.own_messages_after(user=user, after_id=after)})
