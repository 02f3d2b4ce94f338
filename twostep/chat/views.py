"""HTTP for the support chat. Each view calls chat.services (or the one recovery service
support uses here) and renders, redirects or answers JSON; none writes through the ORM."""

from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twostep.accounts.models import User
from twostep.recovery.access import support_required
from twostep.recovery.services import RecoveryError
from twostep.recovery.support import open_case_from_chat, reply_in_conversation

from . import services
from .forms import OpenCaseForm
from .models import MAX_MESSAGE_LENGTH, Conversation

INBOX_PAGE_SIZE = 50
BAD_AFTER = {"error": "`after` must be a message id (a whole number)."}


def _draft(body: str) -> str:
    """A refused message is offered back for editing, unless it is far too long to."""
    return body if len(body) <= 5 * MAX_MESSAGE_LENGTH else ""


def _thread(
    *, conversation_id: int | None, poll_url: str, post_url: str, viewer: str
) -> dict[str, Any]:
    """The context chat/thread.html takes."""
    return {
        "conversation_messages": (
            services.latest_messages(conversation_id=conversation_id) if conversation_id else []
        ),
        "poll_url": poll_url,
        "post_url": post_url,
        "viewer": viewer,
    }


@require_http_methods(["GET", "POST"])
def help_page(request: HttpRequest) -> HttpResponse:
    """Where "Need help?" leads: a logged-in person's conversation with support, or for a
    visitor, the ways to reach support without an account session."""
    if not request.user.is_authenticated:
        return render(request, "chat/help_anonymous.html")
    user = cast(User, request.user)
    error = draft = ""
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            services.post_for_user(user=user, body=body)
        except services.MessageRefused as refused:
            error, draft = str(refused), _draft(body)
        else:
            return redirect(reverse("chat:help") + "#chat")
    context = _thread(
        conversation_id=services.conversation_id_for_user(user=user),
        poll_url=reverse("chat:poll"),
        post_url=reverse("chat:help"),
        viewer="person",
    )
    context.update(chat_error=error, chat_draft=draft)
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
    return JsonResponse(
        {"messages": services.own_messages_after(user=request.user, after_id=after)}
    )


@support_required
@require_GET
def support_inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(services.inbox(), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "chat/support_inbox.html", {"section": "chat", "page": page})


def _conversation(pk: int) -> Conversation:
    return get_object_or_404(Conversation.objects.select_related("user", "case"), pk=pk)


@support_required
@require_http_methods(["GET", "POST"])
def support_conversation(request: HttpRequest, pk: int) -> HttpResponse:
    """One conversation, the reply form and the person's account summary."""
    conversation = _conversation(pk)
    error = draft = ""
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            reply_in_conversation(
                actor=cast(User, request.user), conversation=conversation, body=body
            )
        except services.MessageRefused as refused:
            error, draft = str(refused), _draft(body)
        else:
            return redirect(reverse("chat:support_conversation", args=[pk]) + "#chat")
    return _support_page(
        request, conversation, chat_error=error, chat_draft=draft, status=400 if error else 200
    )


def _support_page(
    request: HttpRequest,
    conversation: Conversation,
    *,
    case_form: OpenCaseForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    person = conversation.user
    context = _thread(
        conversation_id=conversation.pk,
        poll_url=reverse("chat:support_poll", args=[conversation.pk]),
        post_url=reverse("chat:support_conversation", args=[conversation.pk]),
        viewer="support",
    )
    context.update(
        section="chat",
        conversation=conversation,
        summary=services.account_summary(user=person) if person is not None else None,
        own_account=person is not None and person.pk == request.user.pk,
        case_form=case_form or OpenCaseForm(),
        **extra,
    )
    return render(request, "chat/support_conversation.html", context, status=status)


@never_cache
@support_required
@require_GET
def support_poll(request: HttpRequest, pk: int) -> JsonResponse:
    if not Conversation.objects.filter(pk=pk).exists():
        raise Http404("No such conversation.")
    return messages_json(request, conversation_id=pk)


def messages_json(request: HttpRequest, *, conversation_id: int) -> JsonResponse:
    """A poll's answer: the messages of the conversation after `?after=<id>`, or 400."""
    after = services.poll_position(request.GET.get("after"))
    if after is None:
        return JsonResponse(BAD_AFTER, status=400)
    return JsonResponse({"messages": services.messages_after(conversation_id, after)})


@support_required
@require_POST
def support_open_case(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a recovery case for the person in this conversation, then go to the case."""
    conversation = _conversation(pk)
    form = OpenCaseForm(request.POST)
    if not form.is_valid():
        return _support_page(request, conversation, case_form=form, status=400)
    try:
        case = open_case_from_chat(
            actor=cast(User, request.user),
            conversation=conversation,
            note=form.cleaned_data["note"],
        )
    except RecoveryError as error:
        messages.error(request, str(error))
        return redirect("chat:support_conversation", pk=pk)
    messages.success(
        request,
        f"Recovery case #{case.pk} is open. It still needs the confirmation from the "
        "account's mailbox and your verification.",
    )
    return redirect("recovery:case_detail", pk=case.pk)
