from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import SecurityKey

NAME_MAX = SecurityKey._meta.get_field("name").max_length


class KeyNameForm(forms.Form):
    """The name a person gives a key, so they can tell their keys apart."""

    name = forms.CharField(
        label=_("Name of the key"),
        max_length=NAME_MAX,
        help_text=_("For example “YubiKey on my keyring” or “Passkey on my phone”."),
        error_messages={"required": _("Give the key a name you will recognise.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "aria-describedby": "id_name_help"}),
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name or any(not c.isprintable() for c in name):
            raise forms.ValidationError(_("Use letters, digits, spaces and punctuation only."))
        return name
