"""The links a recovery case mails: random one-time tokens, and the case's own confirm and
access links derived with the server's secret. Only hashes of tokens are stored."""

import hashlib
import secrets
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from twostep.accounts.models import User
from twostep.mail.links import site_url

from .models import ManagerCancelLink, RecoveryCase

CASE_LINK_DAYS_AFTER_CLOSE = 30


def new_token() -> tuple[str, str]:
    """A fresh link token and the hash stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def case_link_token(case: RecoveryCase, purpose: str) -> str:
    """The case's confirm or access link token: derived from the case's random salt and the
    server's SECRET_KEY (never stored), so a repeated request mails the same links instead
    of replacing the ones the owner holds; the database keeps only their hashes."""
    value = f"{purpose}:{case.pk}:{case.link_salt}"
    return salted_hmac("twostep.recovery.link", value, algorithm="sha256").hexdigest()


def site_link(name: str, token: str) -> str:
    return site_url(reverse(name, kwargs={"token": token}))


def case_by_link(*, token: str, purpose: str) -> RecoveryCase | None:
    """The case a mailed link opens ("confirm", "access" or "cancel"), or None. A case
    link stops working CASE_LINK_DAYS_AFTER_CLOSE days after the case closed."""
    if not token or len(token) > 100:
        return None
    field = {
        "confirm": "confirm_token_hash",
        "access": "access_token_hash",
        "cancel": "cancel_token_hash",
    }[purpose]
    found = RecoveryCase.objects.select_related("account").filter(**{field: token_hash(token)})
    if purpose == "access":
        expired = timezone.now() - timedelta(days=CASE_LINK_DAYS_AFTER_CLOSE)
        found = found.exclude(closed_at__lte=expired)
    return found.first()


def cancel_by_link(*, token: str) -> tuple[RecoveryCase, User | None] | None:
    """The case a cancel link stops and whose link it is: (case, None) for the owner's,
    (case, manager) for a manager's own link; None for an unknown link."""
    case = case_by_link(token=token, purpose="cancel")
    if case is not None:
        return case, None
    if not token or len(token) > 100:
        return None
    link = (
        ManagerCancelLink.objects.select_related("case__account", "manager")
        .filter(token_hash=token_hash(token))
        .first()
    )
    return (link.case, link.manager) if link is not None else None
