from django import forms


class OpenCaseForm(forms.Form):
    note = forms.CharField(
        label="Why open a case (kept in the audit log)",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why you open a case: it goes in the audit log."},
    )
