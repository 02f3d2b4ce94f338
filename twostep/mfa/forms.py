from django import forms

from . import totp

INVALID = "Enter the 6-digit code from your app (numbers only)."


class CodeForm(forms.Form):
    """Accepts '123456', '123 456' and '123-456'; anything else gets a clear error."""

    code = forms.CharField(
        label="6-digit code",
        error_messages={"required": INVALID},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "autofocus": True,
                "pattern": "[0-9 \\-]*",
                "size": 9,
            }
        ),
    )

    def clean_code(self) -> str:
        code = totp.normalize_code(self.cleaned_data["code"])
        if code is None:
            raise forms.ValidationError(INVALID)
        return code


class DisableForm(CodeForm):
    confirm = forms.BooleanField(
        label="I understand that my account will be protected by my password only.",
        error_messages={"required": "Tick the box to confirm."},
    )
