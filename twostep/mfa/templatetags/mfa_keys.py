"""{% load mfa_keys %}: what the security-key templates need to know."""

from django import template

from twostep.accounts.models import User
from twostep.mfa.models import SecurityKey
from twostep.mfa.webauthn import config, keys

register = template.Library()


@register.simple_tag
def security_keys(user: User) -> list[SecurityKey]:
    """{% security_keys user as keys %}: the account's keys and passkeys, oldest first."""
    return keys.account_keys(user)


@register.simple_tag
def webauthn_origin() -> str:
    """{% webauthn_origin as origin %}: the address where security keys work."""
    return config.origin()
