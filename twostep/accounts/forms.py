from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy

from twostep.text import refuse_control_characters

from .models import User


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


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label=gettext_lazy("New email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=gettext_lazy("We send a link to it; nothing changes until you open it."),
    )
