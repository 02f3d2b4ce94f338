from typing import cast

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from twostep.accounts.models import User
from twostep.audit.services import client_ip, recent_for
from twostep.chat import services as chat
from twostep.chat.views import messages_json
from twostep.mfa.factors import active_device

from . import attempts, cases, decisions, intake, services, support
from .access import mfa_login_required, support_required
from .forms import (
    ApproveForm,
    ChecklistForm,
    RecoveryRequestForm,
    RejectForm,
    VouchAnswerForm,
    VouchRequestForm,
)
from .models import RecoveryCase, Vouch

# The locked-out person's side: no login, only mailed links.


def request_recovery(request: HttpRequest) -> HttpResponse:
    form = RecoveryRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        intake.submit_request(
            source=RecoveryCase.Source.WEB,
            claim=cases.Claim(
                email=data["email"],
                name=data["full_name"],
                organizations=data["organizations"],
                explanation=data["explanation"],
            ),
            ip=client_ip(request),
        )
        return redirect("recovery:sent")
    return render(request, "recovery/request.html", {"form": form})


def request_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "recovery/sent.html", {"answer": intake.SAME_ANSWER})


# The manager asked to vouch.


@mfa_login_required
def vouch(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        Vouch.objects.select_related("case__account", "organization"), pk=pk, manager=request.user
    )
    form = VouchAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            support.answer_vouch(
                manager=cast(User, request.user),
                vouch=item,
                confirmed=form.cleaned_data["answer"] == "confirm",
                comment=form.cleaned_data["comment"],
            )
        except services.RecoveryError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Thank you: your answer was sent to support.")
        return redirect("recovery:vouch", pk=pk)
    return render(request, "recovery/vouch.html", {"vouch": item, "form": form})


# The support console.

QUEUE_FILTERS = {
    "open": RecoveryCase.OPEN,
    **{status.value: (status,) for status in RecoveryCase.Status},
}


@support_required
def queue(request: HttpRequest) -> HttpResponse:
    selected = request.GET.get("status", "open")
    statuses = QUEUE_FILTERS.get(selected, RecoveryCase.OPEN)
    cases = (
        RecoveryCase.objects.filter(status__in=statuses)
        .select_related("account", "assignee")
        .order_by("created_at")[:200]
    )
    return render(
        request,
        "support/queue.html",
        {
            "section": "cases",
            "cases": cases,
            "failed_requests": support.failed_requests(),
            "selected": selected,
            "now": timezone.now(),
            "filters": [("open", "Open")] + list(RecoveryCase.Status.choices),
        },
    )


@support_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = get_object_or_404(RecoveryCase.objects.select_related("account", "assignee"), pk=pk)
    agent = cast(User, request.user)
    support.record_view(actor=agent, case=case)
    conversation = cases.case_conversation(case)
    account = case.account
    return render(
        request,
        "support/case.html",
        {
            "section": "cases",
            "case": case,
            "own_case": account is not None and account.pk == agent.pk,
            "comparison": support.compare_claim(case),
            "account_device": active_device(account) if account else None,
            "events": recent_for(account, limit=10) if account else [],
            "vouches": case.vouches.select_related("manager", "organization"),
            "claims": support.unverified_claims(case),
            "refused_claims": intake.refused_claims(case),
            "verified_request": support.verified_request(case),
            "checklist_form": ChecklistForm(
                initial={
                    "name_matches": case.check_name,
                    "organizations_match": case.check_organizations,
                    "evidence": case.evidence,
                }
            ),
            "vouch_form": VouchRequestForm(candidates=support.vouch_candidates(case)),
            # Two forms have a "reason" field: distinct ids keep each label on its own box.
            "approve_form": ApproveForm(auto_id="approve_%s"),
            "delay_hours": round(settings.TWOSTEP_RECOVERY_DELAY / 3600, 1),
            "reset_parked": case.reset_failures >= attempts.MAX_ATTEMPTS,
            "reject_form": RejectForm(auto_id="reject_%s"),
            "conversation_messages": chat.messages_after(conversation.pk),
            "poll_url": reverse("recovery:support_case_messages", kwargs={"pk": case.pk}),
            "post_url": reverse(
                "recovery:support_case_action", kwargs={"pk": case.pk, "action": "message"}
            ),
            "viewer": "support",
        },
    )


@support_required
def support_case_messages(request: HttpRequest, pk: int) -> JsonResponse:
    case = get_object_or_404(RecoveryCase, pk=pk)
    return messages_json(request, conversation_id=cases.case_conversation(case).pk)


@require_POST
@support_required
def case_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Every support action on a case: one service call each, errors shown on the page."""
    case = get_object_or_404(RecoveryCase.objects.select_related("account"), pk=pk)
    agent = cast(User, request.user)
    try:
        done = _run_action(request, agent, case, action)
    except services.RecoveryError as error:
        messages.error(request, str(error))
    except chat.MessageRefused as refused:
        messages.error(request, str(refused))
    else:
        if done:
            messages.success(request, done)
    return redirect("recovery:case_detail", pk=pk)


def _run_action(request: HttpRequest, agent: User, case: RecoveryCase, action: str) -> str:
    data = request.POST
    if action == "assign":
        support.assign(actor=agent, case=case)
        return "The case is assigned to you."
    if action == "checklist":
        form = ChecklistForm(data)
        if not form.is_valid():
            raise services.RecoveryError("The evidence notes are too long.")
        support.update_checklist(actor=agent, case=case, **form.cleaned_data)
        return "Verification recorded."
    if action == "vouch":
        candidates = support.vouch_candidates(case)
        vouch_form = VouchRequestForm(data, candidates=candidates)
        if not vouch_form.is_valid():
            raise services.RecoveryError("Choose a manager from the list.")
        membership = next(m for m in candidates if m.pk == vouch_form.cleaned_data["membership"])
        support.request_vouch(actor=agent, case=case, membership=membership)
        return f"{membership.user.full_name} was asked to vouch."
    if action == "approve":
        approve_form = ApproveForm(data)
        if not approve_form.is_valid():
            raise services.RecoveryError("Type the account's email and a reason.")
        if not decisions.approve(actor=agent, case=case, **approve_form.cleaned_data):
            return gettext("Your approval is recorded: a second agent must approve too.")
        return "Approved. The reset happens after the cooling-off period unless the owner cancels."
    if action == "reject":
        reject_form = RejectForm(data)
        if not reject_form.is_valid():
            raise services.RecoveryError("Give the reason for rejecting.")
        decisions.reject(actor=agent, case=case, reason=reject_form.cleaned_data["reason"])
        return "The case is rejected."
    if action == "message":
        support.write_to_person(actor=agent, case=case, body=data.get("body", ""))
        return ""
    raise Http404("Unknown action")
