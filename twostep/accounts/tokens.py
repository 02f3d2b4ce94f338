from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from twostep.mail.links import site_url


class SignupTokenGenerator(PasswordResetTokenGenerator):
    """Confirms a sign-up; the token dies once the account is active.

    The password hash is part of it: a later sign-up for the same address replaces the
    password, and a link sent for an earlier one must not activate the new password.
    """

    key_salt = "twostep.accounts.tokens.SignupTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{user.pk}{user.is_active}{user.email}{user.password}{timestamp}"


signup_tokens = SignupTokenGenerator()


def signup_link(user) -> str:
    path = reverse(
        "accounts:signup_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": signup_tokens.make_token(user),
        },
    )
    return site_url(path)
