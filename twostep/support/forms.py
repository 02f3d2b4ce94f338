"""The console's forms: the case page's actions, and opening a case from a chat."""

from collections.abc import Iterable
from typing import Any, cast

from django import forms

from twostep.organizations.models import Membership


class ChecklistForm(forms.Form):
    name_matches = forms.BooleanField(label="The name matches the account", required=False)
    organizations_match = forms.BooleanField(
        label="The organizations match the memberships", required=False
    )
    evidence = forms.CharField(
        label="Evidence notes",
        max_length=5000,
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Called the organization's manager…"}
        ),
    )


class VouchRequestForm(forms.Form):
    membership = forms.TypedChoiceField(label="Ask this manager to vouch", coerce=int)

    def __init__(self, *args: Any, candidates: Iterable[Membership] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.TypedChoiceField, self.fields["membership"]).choices = [
            (m.pk, f"{m.user.full_name} <{m.user.email}> — manager of {m.organization.name}")
            for m in candidates
        ]


class ApproveForm(forms.Form):
    typed_email = forms.CharField(
        label="Type the account's email address to confirm", max_length=254
    )
    reason = forms.CharField(
        label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class OpenCaseForm(forms.Form):
    note = forms.CharField(
        label="Why open a case (kept in the audit log)",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why you open a case: it goes in the audit log."},
    )
