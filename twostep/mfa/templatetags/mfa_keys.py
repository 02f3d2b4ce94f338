"""{% load mfa_keys %}: what the security-key templates need to know."""

from django import template

from twostep.accounts.models import User
from twostep.mfa.webauthn import config, keys

register = template.Library()


@register.simple_tag
def has_security_keys(user: User) -> bool:
    """{% has_security_keys user as has_keys %}: whether the account has a key or passkey
    (read from the preloaded state: no query)."""
    return keys.has_keys(user)


@register.simple_tag
def webauthn_origin() -> str:
    """{% webauthn_origin as origin %}: the address where security keys work."""
    return config.origin()
