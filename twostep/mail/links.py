"""Absolute links for emails: the one rule is TWOSTEP_SITE_URL, never the request's host.

Below every app (it imports only Django), so every app that mails a link uses it.
"""

from django.conf import settings


def site_url(path: str) -> str:
    """`path` (from reverse(), starting with "/") as an absolute link on TWOSTEP_SITE_URL."""
    return settings.TWOSTEP_SITE_URL.rstrip("/") + path
