"""The long-lived cookies of our own (device cookies, remembered browsers): one rule for
their name and attributes.

Over HTTPS a cookie is named with the `__Host-` prefix, so the browser accepts it only
Secure, for this host and on `/` (no subdomain can plant or read it); over plain HTTP (in
development) the browser would refuse that name, so it goes without the prefix.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def secure(request: HttpRequest) -> bool:
    return settings.SESSION_COOKIE_SECURE or request.is_secure()


def name(request: HttpRequest, base: str) -> str:
    return f"__Host-{base}" if secure(request) else base


def read(request: HttpRequest, base: str) -> str | None:
    return request.COOKIES.get(name(request, base)) or None


def give(
    request: HttpRequest, response: HttpResponseBase, base: str, value: str, *, max_age: int
) -> None:
    """Set the cookie `base` (named as above): HttpOnly, SameSite=Lax, on /, Secure over
    HTTPS, for `max_age` seconds."""
    response.set_cookie(
        name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=secure(request),
        httponly=True,
        samesite="Lax",
    )


def take_back(request: HttpRequest, response: HttpResponseBase, base: str) -> None:
    """Delete the cookie `base` from the browser."""
    response.delete_cookie(name(request, base), path="/", samesite="Lax")
