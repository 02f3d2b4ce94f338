import ipaddress
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from .models import SecurityEvent

if TYPE_CHECKING:  # the audit log sits below accounts: the User type, not the module
    from twostep.accounts.models import User


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TWOSTEP_TRUSTED_PROXIES proxies the
    address the outermost of them saw (X-Forwarded-For, counted from the right, so a
    client cannot choose it by sending the header itself)."""
    if request is None:
        return None
    hops = settings.TWOSTEP_TRUSTED_PROXIES
    if hops:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(forwarded) >= hops:
            try:
                return str(ipaddress.ip_address(forwarded[-hops].strip()))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")


class _Default(Enum):
    SUBJECT = "subject"


SUBJECT = _Default.SUBJECT  # the default actor: people acting on their own account


def record(
    *,
    type: str,
    subject: "User | None",
    actor: "User | None | Literal[_Default.SUBJECT]" = SUBJECT,
    request: HttpRequest | None = None,
    **details: Any,
) -> SecurityEvent:
    """Append one event. Call inside the transaction that makes the change it describes.

    `actor` defaults to `subject` (people acting on their own account); pass None when
    nobody known acted (an anonymous recovery request). Never pass a code or a secret in
    `details`.
    """
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""
    return SecurityEvent.objects.create(
        type=type,
        subject=subject,
        actor=subject if actor is SUBJECT else actor,
        ip=client_ip(request),
        user_agent=user_agent,
        details=details,
        created_at=timezone.now(),
    )


def recent_for(user: "User", *, limit: int = 20) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(subject=user).select_related("actor")[:limit])


def describe_browser(user_agent: str) -> str:
    """A short 'Browser on System' label for a User-Agent header."""
    # Most specific first: Edge, Opera and Chromium also say "Chrome/", and every iOS
    # browser says "Safari/" (there Chrome is "CriOS/", Firefox "FxiOS/", Edge "EdgiOS/").
    browsers = [
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    systems = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    browser = next((name for token, name in browsers if token in user_agent), "")
    system = next((name for token, name in systems if token in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (user_agent[:40] if user_agent else "Unknown")
