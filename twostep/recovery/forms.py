from typing import cast

from django import forms

from twostep.text import refuse_control_characters


class RecoveryRequestForm(forms.Form):
    email = forms.EmailField(label="Your account's email address", max_length=254)
    full_name = forms.CharField(
        label="Your full name", max_length=200, validators=[refuse_control_characters]
    )
    organizations = forms.CharField(
        label="The organization(s) you manage or work with",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line.",
    )
    explanation = forms.CharField(
        label="What happened?",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "I lost my phone"}),
    )


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

    def __init__(self, *args, candidates=(), **kwargs):
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


class VouchAnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label="Your answer",
        widget=forms.RadioSelect,
        choices=[
            ("confirm", "Yes, I confirm this is them and that they lost access"),
            ("deny", "No, I cannot confirm this"),
        ],
    )
    comment = forms.CharField(
        label="Comment (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
