from typing import cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from twostep.accounts.confirmation import confirm_required, take_stash
from twostep.accounts.models import User
from twostep.audit.services import client_ip

from . import cases, intake, verification
from .access import mfa_login_required
from .forms import RecoveryRequestForm, VouchAnswerForm
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


# The manager asked to vouch: their answer decides about another account, so it needs a
# recent "confirm it's you" (what they chose waits in the session meanwhile).


@mfa_login_required
def vouch(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(
        Vouch.objects.select_related("case__account", "organization"), pk=pk, manager=request.user
    )
    if request.method == "POST":
        asked = confirm_required(request, keep=("answer", "comment"))
        if asked is not None:
            return asked
    kept = take_stash(request) if request.method == "GET" else {}
    form = VouchAnswerForm(request.POST or None, initial=kept)
    if request.method == "POST" and form.is_valid():
        try:
            verification.answer_vouch(
                manager=cast(User, request.user),
                vouch=item,
                confirmed=form.cleaned_data["answer"] == "confirm",
                comment=form.cleaned_data["comment"],
            )
        except cases.RecoveryError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Thank you: your answer was sent to support.")
        return redirect("recovery:vouch", pk=pk)
    return render(request, "recovery/vouch.html", {"vouch": item, "form": form})
