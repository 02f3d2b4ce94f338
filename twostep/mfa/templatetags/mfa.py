"""{% load mfa %}: what mfa's section of the Settings page needs to know."""

from django import template

from twostep.accounts.models import User
from twostep.mfa.factors import active_device as _active_device
from twostep.mfa.factors import second_factor_on as _second_factor_on
from twostep.mfa.models import TOTPDevice
from twostep.mfa.summary import Methods, methods_of

register = template.Library()


@register.simple_tag
def active_device(user: User) -> TOTPDevice | None:
    """{% active_device user as device %}: the user's confirmed authenticator, or None."""
    return _active_device(user)


@register.simple_tag
def second_factor_on(user: User) -> bool:
    """{% second_factor_on user as on %}: whether the account has 2FA on."""
    return _second_factor_on(user)


@register.simple_tag
def two_factor_methods(user: User) -> Methods:
    """{% two_factor_methods user as methods %}: the app, keys and codes of the account."""
    return methods_of(user)
