"""The console's side of the support chat: the inbox, one conversation with the person's
account summary, its poll, and opening a recovery case from it."""

from typing import Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from twostep.accounts.models import User
from twostep.chat.models import Conversation
from twostep.chat.pages import messages_json, thread_context
from twostep.chat.services import MessageRefused
from twostep.chat.views import draft
from twostep.recovery.agents import may_act_on
from twostep.recovery.cases import RecoveryError
from twostep.recovery.intake import open_case_from_chat

from . import selectors
from .access import support_required
from .forms import OpenCaseForm
from .replies import reply

INBOX_PAGE_SIZE = 50


@support_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.inbox(), INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "support/inbox.html", {"section": "chat", "page": page})


@support_required
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, pk: int) -> HttpResponse:
    """One conversation, the reply form and the person's account summary."""
    found = selectors.conversation(pk)
    error = refused_draft = ""
    if request.method == "POST":
        body = request.POST.get("body", "")
        try:
            reply(agent=cast(User, request.user), conversation=found, body=body)
        except MessageRefused as refused:
            error, refused_draft = str(refused), draft(body)
        else:
            return redirect(reverse("support:conversation", args=[pk]) + "#chat")
    return _page(
        request, found, chat_error=error, chat_draft=refused_draft, status=400 if error else 200
    )


def _page(
    request: HttpRequest,
    conversation: Conversation,
    *,
    case_form: OpenCaseForm | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    person = conversation.user
    context = thread_context(
        conversation_id=conversation.pk,
        poll_url=reverse("support:poll", args=[conversation.pk]),
        post_url=reverse("support:conversation", args=[conversation.pk]),
        viewer="support",
    )
    context.update(
        section="chat",
        conversation=conversation,
        case=selectors.case_of(conversation),
        summary=selectors.account_summary(user=person) if person is not None else None,
        own_account=person is not None
        and not may_act_on(agent=cast(User, request.user), account_id=person.pk),
        case_form=case_form or OpenCaseForm(),
        **extra,
    )
    return render(request, "support/conversation.html", context, status=status)


@never_cache
@support_required
@require_GET
def poll(request: HttpRequest, pk: int) -> JsonResponse:
    if not Conversation.objects.filter(pk=pk).exists():
        raise Http404("No such conversation.")
    return messages_json(request, conversation_id=pk)


@support_required
@require_POST
def open_case(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a recovery case for the person in this conversation, then go to the case."""
    found = selectors.conversation(pk)
    form = OpenCaseForm(request.POST)
    if not form.is_valid():
        return _page(request, found, case_form=form, status=400)
    try:
        case = open_case_from_chat(
            actor=cast(User, request.user), conversation=found, note=form.cleaned_data["note"]
        )
    except RecoveryError as error:
        messages.error(request, str(error))
        return redirect("support:conversation", pk=pk)
    messages.success(
        request,
        f"Recovery case #{case.pk} is open. It still needs the confirmation from the "
        "account's mailbox and your verification.",
    )
    return redirect("support:case_detail", pk=case.pk)
