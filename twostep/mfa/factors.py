"""The account's second factors: the one it uses, the one being set up, removing them all.

The authenticator app (TOTPDevice) is the only factor today; passkeys and recovery codes
will answer here too, so that callers ask about "the account's factors" and not about one
table.
"""

from twostep.accounts.models import User

from .models import TOTPDevice


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
