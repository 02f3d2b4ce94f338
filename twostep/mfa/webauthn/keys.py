"""The account's security keys and passkeys: listing, renaming and removing one. Removing
the account's last method is not done here: that turns 2FA off, which takes the disable
confirmation (twostep.mfa.enrolment)."""

from django.db import transaction
from django.http import HttpRequest

from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.services import queue_email

from ..factors import active_device, recount_methods
from ..models import SecurityKey
from ..throttle import state_of


class LastMethod(Exception):
    """Removing this key would leave the account no method: that is disabling 2FA."""


def has_keys(user: User) -> bool:
    """The account has a security key or passkey: it counts more methods than the app.
    Reads the preloaded state and app, so it costs no query."""
    state = state_of(user)
    return state is not None and state.methods > (1 if active_device(user) else 0)


def account_key(user: User, key_id: int) -> SecurityKey | None:
    """One of the account's keys, or None (another account's key is None too)."""
    return SecurityKey.objects.filter(user=user, pk=key_id).first()


def is_last_method(user: User) -> bool:
    """The account has one method left (removing it turns 2FA off). Reads the preloaded
    state."""
    state = state_of(user)
    return state is None or state.methods <= 1


def rename_key(*, request: HttpRequest, user: User, key: SecurityKey, name: str) -> bool:
    """Give `key` a new name, recorded and emailed. False when it is gone or unchanged."""
    old = key.name
    if name == old:
        return False
    with transaction.atomic():
        if not SecurityKey.objects.filter(pk=key.pk, user=user).update(name=name):
            return False
        key.name = name
        record(
            type=SecurityEvent.Type.KEY_RENAMED,
            subject=user,
            request=request,
            key_id=key.pk,
            old_name=old,
            key=name,
        )
        queue_email(
            to=user.email,
            template="key_renamed",
            context={"user": user, "old_name": old, "key_name": name},
        )
    return True


def remove_key(*, request: HttpRequest, user: User, key: SecurityKey) -> bool:
    """Remove `key`, recorded and emailed. False when it was already gone. Raises
    LastMethod, changing nothing, when it is the account's last method."""
    with transaction.atomic():
        if not SecurityKey.objects.filter(pk=key.pk, user=user).delete()[0]:
            return False
        _before, after = recount_methods(user, request=request)
        if after == 0:
            raise LastMethod  # rolls the removal back
        record(
            type=SecurityEvent.Type.KEY_REMOVED,
            subject=user,
            request=request,
            key_id=key.pk,
            key=key.name,
        )
        queue_email(
            to=user.email, template="key_removed", context={"user": user, "key_name": key.name}
        )
    return True
