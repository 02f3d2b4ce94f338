import unicodedata

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import User

LINE_SEPARATORS = {"\u2028", "\u2029"}


def refuse_control_characters(value: str) -> None:
    """A form validator for names: a clear error for a control character (category Cc, CR
    and LF among them) or a line or paragraph separator, which would break an email header
    the name ends up in. The same rule as recovery's validator of that name."""
    if any(unicodedata.category(c) == "Cc" or c in LINE_SEPARATORS for c in value):
        raise ValidationError(
            _("Use letters, spaces and punctuation only: no line breaks or control characters."),
            code="control_characters",
        )


class LoginForm(forms.Form):
    email = forms.CharField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class SignupForm(forms.Form):
    full_name = forms.CharField(
        label="Full name", max_length=150, validators=[refuse_control_characters]
    )
    email = forms.EmailField(label="Email", max_length=254)
    password1 = forms.CharField(
        label="Password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label="Password again",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean() or {}
        one, two = data.get("password1"), data.get("password2")
        if one and two and one != two:
            self.add_error("password2", "The two passwords differ.")
        elif one:
            candidate = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(one, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data
