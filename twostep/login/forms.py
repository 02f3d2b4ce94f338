from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from twostep.mfa.forms import CodeForm


class LoginForm(forms.Form):
    # "webauthn": the browser may offer the site's passkeys in the email field's autofill.
    email = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username webauthn", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ConfirmForm(forms.Form):
    """'Confirm it's you': the password again (and, in ConfirmCodeForm, an app code)."""

    password = forms.CharField(
        label=gettext_lazy("Your password"),
        max_length=4096,
        strip=False,
        error_messages={"required": gettext_lazy("Enter your password.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )


class ConfirmCodeForm(ConfirmForm, CodeForm):
    """The password, then a code from the app (never a recovery code: only 6 digits)."""

    field_order = ["password", "code"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs.pop("autofocus", None)  # the password comes first
