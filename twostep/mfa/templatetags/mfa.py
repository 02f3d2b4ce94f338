"""{% load mfa %}: what mfa's section of the Settings page needs to know."""

from django import template

from twostep.accounts.models import User
from twostep.mfa.factors import active_device as _active_device
from twostep.mfa.models import TOTPDevice

register = template.Library()


@register.simple_tag
def active_device(user: User) -> TOTPDevice | None:
    """{% active_device user as device %}: the user's confirmed authenticator, or None."""
    return _active_device(user)
