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
