"""Asking for a password reset link by email."""

from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.links import site_url
from twostep.mail.services import queue_email

from .email_quota import allow_email
from .models import User, normalize_email


def request_password_reset(*, request: HttpRequest, email: str) -> None:
    """Email a reset link when `email` belongs to an active account with a password, and
    otherwise a note that it has none. Never raises for bad input; answers nothing.

    Both ways do the same work (one event, one queued email), so neither the page nor the
    time taken tells whether the account exists. Past the hourly email limits (email_quota)
    nothing is sent.
    """
    email = normalize_email(email)
    with transaction.atomic():
        if not allow_email(request=request, email=email, purpose="reset"):
            return
        user = User.objects.filter(email=email, is_active=True).first()
        if user is None or not user.has_usable_password():
            record(type=SecurityEvent.Type.PASSWORD_RESET_REQUESTED, subject=None, request=request)
            # Only our own text: the address has not proved anything to us.
            queue_email(
                to=email, template="password_reset_unknown", context={"site": site_url("/")}
            )
            return
        record(type=SecurityEvent.Type.PASSWORD_RESET_REQUESTED, subject=user, request=request)
        queue_email(to=user.email, template="password_reset", context=_link_context(user))


def _link_context(user: User) -> dict:
    """The reset link, with a token Django's reset view checks."""
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return {"email": user.email, "user": user, "link": site_url(path)}
