"""The links of an email change (email_change.py): "confirm", mailed to the new address, and
"cancel", mailed to the old one.

Each is derived from the change's random salt and the server's secret (never stored), so
the old address can be sent the same cancel link twice. A link made before the secret was
rotated still works while the old secret is in SECRET_KEY_FALLBACKS, as Django's signing
does.
"""

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from twostep.mail.links import site_url

from .models import EmailChange

KEY_SALT = "twostep.accounts.email_change"
# The cancel link's page opens a support case too, so recovery serves it.
URL_NAMES = {"confirm": "accounts:email_change_confirm", "cancel": "recovery:email_change_cancel"}


def link_token(change: EmailChange, purpose: str, *, secret: str | bytes | None = None) -> str:
    value = f"{purpose}:{change.pk}:{change.link_salt}"
    return salted_hmac(KEY_SALT, value, secret=secret, algorithm="sha256").hexdigest()


def token_matches(change: EmailChange, purpose: str, token: str) -> bool:
    """Whether `token` is the link's, made with the current secret or a fallback."""
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(
        constant_time_compare(token, link_token(change, purpose, secret=secret))
        for secret in secrets
    )


def link(change: EmailChange, purpose: str) -> str:
    path = reverse(
        URL_NAMES[purpose],
        kwargs={"pk": change.pk, "token": link_token(change, purpose)},
    )
    return site_url(path)


def find(*, pk: int, token: str, purpose: str) -> EmailChange | None:
    """The change a mailed link names, if its token is right (whatever its state)."""
    change = EmailChange.objects.select_related("user").filter(pk=pk).first()
    if change is None or not token_matches(change, purpose, token):
        return None
    return change
