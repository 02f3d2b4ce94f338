"""The account's second factors: whether 2FA is on, the authenticator app, counting the
methods after one is added or removed, removing them all.

A method is something a person logs in with: the authenticator app once confirmed, and
each security key or passkey. MfaState.methods keeps their number, so "is 2FA on" is read
from the row that comes with the user (no query). Recovery codes are a way back, not a
method: they never turn 2FA on alone, and they go when the last method goes.
"""

from django.db import transaction
from django.http import HttpRequest

from twostep.accounts import remembered, session_offer
from twostep.accounts.models import User

from .models import MfaState, RecoveryCode, SecurityKey, TOTPDevice, WebAuthnChallenge


def second_factor_on(user: User) -> bool:
    """Whether the account has 2FA on (at least one method).

    Reads `user.mfa_state`, which comes with the user wherever it is loaded (the session's
    one query, the login steps: twostep.accounts.user_relations), so it costs no query.
    """
    try:
        return user.mfa_state.methods > 0
    except MfaState.DoesNotExist:
        return False


def active_device(user: User) -> TOTPDevice | None:
    """The user's confirmed authenticator app, or None (2FA may still be on with keys).

    Reads the relation, so a user loaded with its relations costs no query.
    """
    try:
        device = user.totp_device
    except TOTPDevice.DoesNotExist:
        return None
    return device if device.is_active else None


def second_factors(user: User, device: TOTPDevice | None) -> list[str]:
    """The account's methods, strongest first, read without a query: "key" when it counts
    more methods than the app (`device`, its active_device), then "app"; none with 2FA off.
    (Recovery codes are a way back, not a method: the login's second step adds them.)"""
    if not second_factor_on(user):
        return []
    app = 1 if device is not None else 0
    keys = user.mfa_state.methods > app
    return [*(["key"] if keys else []), *(["app"] if app else [])]


def pending_device(user: User) -> TOTPDevice | None:
    """The authenticator being set up (not confirmed yet), if any."""
    return TOTPDevice.objects.filter(user=user, confirmed_at__isnull=True).first()


def factors_changed(user: User, *, request: HttpRequest | None, reason: str) -> None:
    """The account's second factors changed (a method added or removed, 2FA off, new
    recovery codes, a support reset): its remembered browsers are forgotten (they stood in
    for factors that are no longer the same; the audit event says `reason`), and the person
    who made the change is offered to log out everywhere else once the change commits.
    Inside the change's transaction."""
    remembered.forget_all(user=user, request=request, reason=reason)
    acting = getattr(request, "user", None)
    if request is not None and acting is not None and acting.pk == user.pk:
        session = request.session
        # Only once committed: a change refused or rolled back offers nothing.
        transaction.on_commit(lambda: session_offer.offer_end_others(session))


def methods_unchanged(user: User) -> bool:
    """Whether the account still counts the methods loaded with `user`, locking its
    MfaState row until the transaction ends (a change of the methods waits for it)."""
    loaded = user.mfa_state.methods if second_factor_on(user) else 0
    return _locked_state(user).methods == loaded


def _locked_state(user: User) -> MfaState:
    """The account's MfaState row, locked until the transaction ends (made if absent)."""
    MfaState.objects.bulk_create([MfaState(user=user)], ignore_conflicts=True)
    return MfaState.objects.select_for_update().get(user=user)


def recount_methods(user: User, *, request: HttpRequest | None = None) -> tuple[int, int]:
    """Recount the account's methods (app once confirmed, each key) and store the number.

    Call inside the transaction that added or removed a method: it locks the MfaState row
    (making it if absent), so two changes at once count one after the other. A change in
    the number is a change of the second factors (`factors_changed`). Returns (before,
    after); `before == 0 and after > 0` is "2FA was just turned on".
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("recount_methods must run inside the change's transaction")
    state = _locked_state(user)
    before = state.methods
    after = (
        TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).count()
        + SecurityKey.objects.filter(user=user).count()
    )
    if after != before:
        MfaState.objects.filter(user=user).update(methods=after)
        reason = "a method added" if after > before else "a method removed"
        factors_changed(user, request=request, reason=reason)
    state.methods = after
    user.mfa_state = state
    if after == 0:
        # No method left: the way back goes too (codes alone never turn 2FA on).
        RecoveryCode.objects.filter(user=user).delete()
    return before, after


def remove_factors(user: User, *, request: HttpRequest | None = None, reason: str) -> int:
    """Remove every second factor of the account: the app, keys and passkeys, recovery
    codes and WebAuthn ceremonies in progress; methods becomes 0 (`factors_changed`). The
    caller records the event and ends the sessions. Returns how many methods there were
    (app and keys)."""
    with transaction.atomic():
        state = _locked_state(user)
        apps, _ = TOTPDevice.objects.filter(user=user, confirmed_at__isnull=False).delete()
        TOTPDevice.objects.filter(user=user).delete()
        keys, _ = SecurityKey.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        WebAuthnChallenge.objects.filter(user=user).delete()
        MfaState.objects.filter(user=user).update(methods=0, failure_count=0, next_try_at=None)
        state.methods, state.failure_count, state.next_try_at = 0, 0, None
        user.mfa_state = state
        user.totp_device = None
        factors_changed(user, request=request, reason=reason)  # under the lock, as recount
    return apps + keys
