"""The support console's recovery cases: the queue, a case's page and its actions. Each
view reads through selectors or calls one recovery service, then renders or redirects."""

from typing import cast

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from twostep.accounts.confirmation import confirm_required, take_stash
from twostep.accounts.models import User
from twostep.audit.services import recent_for
from twostep.chat.pages import messages_json, thread_context
from twostep.chat.services import MessageRefused
from twostep.mfa.summary import methods_of
from twostep.recovery import attempts, intake
from twostep.recovery.agents import may_act_on
from twostep.recovery.cases import RecoveryError
from twostep.recovery.models import RecoveryCase
from twostep.recovery.verification import record_view, vouch_candidates

from . import selectors
from .access import support_required
from .actions import ACTIONS, DECISIONS
from .forms import ApproveForm, ChecklistForm, RejectForm, VouchRequestForm


@support_required
def queue(request: HttpRequest) -> HttpResponse:
    selected = request.GET.get("status", "open")
    return render(
        request,
        "support/queue.html",
        {
            "section": "cases",
            "cases": selectors.queue(selected),
            "failed_requests": selectors.failed_requests(),
            "selected": selected,
            "now": timezone.now(),
            "filters": [("open", "Open")] + list(RecoveryCase.Status.choices),
        },
    )


@support_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(RecoveryCase.objects.select_related("account", "assignee"), pk=pk)
    agent = cast(User, request.user)
    record_view(actor=agent, case=case)
    kept = take_stash(request)  # a decision posted before confirming it's them
    approving = "typed_email" in kept
    account = case.account
    context = thread_context(
        conversation_id=case.conversation_id,
        poll_url=reverse("support:case_messages", kwargs={"pk": case.pk}),
        post_url=reverse("support:case_action", kwargs={"pk": case.pk, "action": "message"}),
        viewer="support",
    )
    context.update(
        section="cases",
        case=case,
        own_case=not may_act_on(agent=agent, account_id=case.account_id),
        comparison=selectors.compare_claim(case),
        account_methods=methods_of(account) if account else None,
        events=recent_for(account, limit=10) if account else [],
        vouches=case.vouches.select_related("manager", "organization"),
        claims=selectors.unverified_claims(case),
        email_change_flags=selectors.email_change_flags(case),
        refused_claims=intake.refused_claims(case),
        verified_request=selectors.verified_request(case),
        checklist_form=ChecklistForm(
            initial={
                "name_matches": case.check_name,
                "organizations_match": case.check_organizations,
                "evidence": case.evidence,
            }
        ),
        vouch_form=VouchRequestForm(candidates=vouch_candidates(case)),
        # Two forms have a "reason" field: distinct ids keep each label on its own box.
        approve_form=ApproveForm(auto_id="approve_%s", initial=kept if approving else None),
        delay_hours=round(settings.TWOSTEP_RECOVERY_DELAY / 3600, 1),
        reset_parked=case.reset_failures >= attempts.MAX_ATTEMPTS,
        reject_form=RejectForm(auto_id="reject_%s", initial=None if approving else kept),
    )
    return render(request, "support/case.html", context)


@never_cache
@support_required
def case_messages(request: HttpRequest, pk: int) -> JsonResponse:
    case = get_object_or_404(RecoveryCase.objects.only("conversation"), pk=pk)
    return messages_json(request, conversation_id=case.conversation_id)


@require_POST
@support_required
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Every support action on a case: one handler each (actions.ACTIONS), errors shown on
    the page. A decision (actions.DECISIONS) first needs a recent confirmation."""
    case = get_object_or_404(RecoveryCase.objects.select_related("account"), pk=pk)
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("Unknown action")
    if action in DECISIONS:
        page = reverse("support:case_detail", kwargs={"pk": pk})
        asked = confirm_required(request, return_to=page, keep=DECISIONS[action])
        if asked is not None:
            return asked
    try:
        done = handler(request.POST, cast(User, request.user), case)
    except (RecoveryError, MessageRefused) as error:
        messages.error(request, str(error))
    else:
        if done:
            messages.success(request, done)
    return redirect("support:case_detail", pk=pk)
