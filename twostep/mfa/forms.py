from django import forms
from django.utils.translation import gettext_lazy

from . import recovery_codes, totp

INVALID = gettext_lazy("Enter the 6-digit code from your app (numbers only).")


def form_errors(form: forms.Form) -> str:
    """A form's errors in one line, for a script's JSON answer (webauthn.js shows it)."""
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


class CodeForm(forms.Form):
    """Accepts '123456', '123 456' and '123-456'; anything else gets a clear error."""

    code = forms.CharField(
        label=gettext_lazy("6-digit code"),
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


class RecoveryCodeForm(forms.Form):
    """One recovery code; case, spaces and hyphens do not matter."""

    recovery_code = forms.CharField(
        label=gettext_lazy("Recovery code"),
        max_length=64,
        help_text=gettext_lazy("One of the codes you saved, like ABCD-EFGH-JKMN-PQRS-TVWX."),
        error_messages={"required": gettext_lazy("Enter one of your recovery codes.")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "autofocus": True,
                "size": 28,
            }
        ),
    )

    def clean_recovery_code(self) -> str:
        code = self.cleaned_data["recovery_code"]
        if recovery_codes.parse(code) is None:
            raise forms.ValidationError(recovery_codes.malformed())
        return code


class DisableForm(forms.Form):
    """Turning 2FA off (after confirming it's you): an explicit tick."""

    confirm = forms.BooleanField(
        label=gettext_lazy("I understand that my account will be protected by my password only."),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )


class SavedForm(forms.Form):
    saved = forms.BooleanField(
        label=gettext_lazy("I have saved my recovery codes somewhere safe."),
        error_messages={
            "required": gettext_lazy("Tick the box once you have saved your recovery codes.")
        },
    )
