"""The case page's actions, one small handler each: it reads its form, calls one recovery
service and returns what the page says when it is done ("" for nothing). A form that does
not validate raises RecoveryError with the message shown on the page."""

from collections.abc import Callable

from django.http import QueryDict
from django.utils.translation import gettext

from twostep.accounts.models import User
from twostep.recovery import decisions, verification
from twostep.recovery.cases import RecoveryError
from twostep.recovery.models import RecoveryCase
from twostep.recovery.notices import write_to_person

from .forms import ApproveForm, ChecklistForm, RejectForm, VouchRequestForm

Handler = Callable[[QueryDict, User, RecoveryCase], str]


def assign(data: QueryDict, agent: User, case: RecoveryCase) -> str:
    verification.assign(actor=agent, case=case)
    return "The case is assigned to you."


def checklist(data: QueryDict, agent: User, case: RecoveryCase) -> str:
    form = ChecklistForm(data)
    if not form.is_valid():
        raise RecoveryError("The evidence notes are too long.")
    verification.update_checklist(actor=agent, case=case, **form.cleaned_data)
    return "Verification recorded."


def vouch(data: QueryDict, agent: User, case: RecoveryCase) -> str:
    candidates = verification.vouch_candidates(case)
    form = VouchRequestForm(data, candidates=candidates)
    if not form.is_valid():
        raise RecoveryError("Choose a manager from the list.")
    membership = next(m for m in candidates if m.pk == form.cleaned_data["membership"])
    verification.request_vouch(actor=agent, case=case, membership=membership)
    return f"{membership.user.full_name} was asked to vouch."


def approve(data: QueryDict, agent: User, case: RecoveryCase) -> str:
    form = ApproveForm(data)
    if not form.is_valid():
        raise RecoveryError("Type the account's email and a reason.")
    if not decisions.approve(actor=agent, case=case, **form.cleaned_data):
        return gettext("Your approval is recorded: a second agent must approve too.")
    return "Approved. The reset happens after the cooling-off period unless the owner cancels."


def reject(data: QueryDict, agent: User, case: RecoveryCase) -> str:
    form = RejectForm(data)
    if not form.is_valid():
        raise RecoveryError("Give the reason for rejecting.")
    decisions.reject(actor=agent, case=case, reason=form.cleaned_data["reason"])
    return "The case is rejected."


def message(data: QueryDict, agent: User, case: RecoveryCase) -> str:
    write_to_person(actor=agent, case=case, body=data.get("body", ""))
    return ""


# The decisions that change another account (or settle whether it changes): each needs a
# recent "confirm it's you" from the agent; the page keeps what they typed meanwhile.
DECISIONS: dict[str, tuple[str, ...]] = {
    "approve": ("typed_email", "reason"),
    "reject": ("reason",),
}

ACTIONS: dict[str, Handler] = {
    "assign": assign,
    "checklist": checklist,
    "vouch": vouch,
    "approve": approve,
    "reject": reject,
    "message": message,
}
