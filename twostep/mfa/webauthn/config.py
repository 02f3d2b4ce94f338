"""Where the ceremonies happen, read from settings in this one place: the relying party ID
and the origin browsers put in their answers. Read at each call, so a changed setting (a
test's, a deployment's) applies at once."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin() -> str:
    """TWOSTEP_SITE_URL's origin as a browser writes it: scheme, host, and the port unless
    it is the scheme's default (`https://example.com`, `http://localhost:8000`)."""
    parts = urlsplit(settings.TWOSTEP_SITE_URL)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address (no WebAuthn there, but the origin is still right)
        host = f"[{host}]"
    port = parts.port
    if port is None or DEFAULT_PORTS.get(parts.scheme) == port:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def rp_id() -> str:
    """TWOSTEP_WEBAUTHN_RP_ID, or the host of TWOSTEP_SITE_URL."""
    return settings.TWOSTEP_WEBAUTHN_RP_ID or urlsplit(settings.TWOSTEP_SITE_URL).hostname or ""


def rp_name() -> str:
    """The name an authenticator shows beside the account (the product's)."""
    return settings.TWOSTEP_PRODUCT_NAME


def check_rp_id(**kwargs: object) -> list[CheckMessage]:
    """System check: TWOSTEP_WEBAUTHN_RP_ID is the site's host or a parent domain of it
    (browsers refuse any other, so every ceremony would fail). A parent must itself be a
    domain with a dot (not a bare top-level name); a public suffix such as co.uk is not
    detected here (no suffix list), browsers refuse it too."""
    chosen = (settings.TWOSTEP_WEBAUTHN_RP_ID or "").lower().rstrip(".")
    if not chosen:
        return []
    host = (urlsplit(settings.TWOSTEP_SITE_URL).hostname or "").lower().rstrip(".")
    if chosen == host or (host.endswith("." + chosen) and "." in chosen):
        return []
    return [
        Error(
            f"TWOSTEP_WEBAUTHN_RP_ID {chosen!r} is neither the host of TWOSTEP_SITE_URL "
            f"({host!r}) nor a parent domain of it: browsers would refuse every security key "
            "and passkey.",
            hint="Leave TWOSTEP_WEBAUTHN_RP_ID empty (the site's host) or set a parent domain.",
            id="twostep.mfa.E001",
        )
    ]
