"""The account's second factors: the one it uses, the one being set up, removing them all.

The authenticator app (TOTPDevice) is the only factor today; passkeys and recovery codes
will answer here too, so that callers ask about "the account's factors" and not about one
table.
"""

from twostep.accounts.models import User

from .models import MfaState, SecurityKey, TOTPDevice


def active_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator, or None when 2FA is off.

    Reads the relation, so a user loaded with its relations (the login steps, the session's
    user: twostep.accounts.user_relations) costs no query.
    """
    try:
        device = user.totp_device
    except TOTPDevice.DoesNotExist:
        return None
    return device if device.is_active else None


def pending_device(user: User) -> TOTPDevice | None:
    """The authenticator being set up (not confirmed yet), if any."""
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=True).first()


def remove_factors(user: User) -> int:
    """Remove every second factor of the account (a support-verified reset). The caller
    records the event and ends the sessions. Returns how many factors there were."""
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    return deleted


# STAND-IN for core's factors (issue9-core): removed at integration.
def second_factor_on(user: User) -> bool:
    try:
        return user.mfa_state.methods > 0
    except MfaState.DoesNotExist:
        return active_device(user) is not None


def recount_methods(user: User) -> tuple[int, int]:
    state, created = MfaState.objects.get_or_create(user=user)
    state = MfaState.objects.select_for_update().get(pk=state.pk)
    before = int(active_device(user) is not None) if created else state.methods
    after = int(active_device(user) is not None) + SecurityKey.objects.filter(user=user).count()
    MfaState.objects.filter(pk=state.pk).update(methods=after)
    user.mfa_state = state
    state.methods = after
    return before, after
