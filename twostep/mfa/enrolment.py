"""Turning the authenticator app on (start, then confirm with a first code) and turning
2FA off (with a current code from the app or a recovery code), which removes every method:
the app, keys and passkeys, and the recovery codes. Codes are judged by their factor's
judge (verification.verify_code, recovery_codes.verify_recovery_code)."""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from twostep.accounts.models import User
from twostep.accounts.sessions import end_other_sessions
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.services import queue_email

from . import crypto, recovery_codes, totp
from .checks import CodeCheck, Reason
from .factors import active_device, recount_methods, remove_factors, second_factor_on
from .models import TOTPDevice
from .verification import verify_code


class AlreadyEnabled(Exception):
    """The account already has an active authenticator."""


def start_enrolment(*, user: User, request: HttpRequest | None) -> TOTPDevice:
    """A fresh pending authenticator with a new secret, replacing any earlier pending one.

    Raises AlreadyEnabled when 2FA is on. A pending device never protects the account.
    """
    with transaction.atomic():
        # Lock the user: two "Enable" clicks at once must not both insert a device.
        User.objects.select_for_update().filter(pk=user.pk).first()
        existing = TOTPDevice.objects.select_for_update().filter(user=user).first()
        if existing and existing.is_active:
            raise AlreadyEnabled
        if existing:
            existing.delete()
        device = TOTPDevice.objects.create(
            user=user,
            encrypted_secret=crypto.encrypt(totp.generate_secret()),
            created_at=timezone.now(),
        )
        record(type=SecurityEvent.Type.MFA_ENROLMENT_STARTED, subject=user, request=request)
    return device


def confirm_enrolment(*, device: TOTPDevice, code: str, request: HttpRequest | None) -> CodeCheck:
    """Activate a pending device with a first correct code, which is consumed."""
    check = verify_code(device=device, code=code, request=request, purpose="enrol")
    if not check.accepted:
        return check
    with transaction.atomic():
        now = timezone.now()
        activated = TOTPDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True).update(
            confirmed_at=now
        )
        if activated:
            device.confirmed_at = now
            recount_methods(device.user)
            # 2FA is on again after a support reset: stop recommending it.
            User.objects.filter(pk=device.user_id).update(mfa_reset_at=None)
            # Often the answer to a leaked password: other sessions (the leak's) end here.
            end_other_sessions(
                device.user, keep=request.session.session_key if request is not None else None
            )
            record(type=SecurityEvent.Type.MFA_ENABLED, subject=device.user, request=request)
            queue_email(to=device.user.email, template="mfa_enabled", context={"user": device.user})
    return check


def disable(*, user: User, code: str, request: HttpRequest | None) -> CodeCheck:
    """Turn 2FA off with a current code from the app or a recovery code, which is consumed
    like a login's; every method goes (app, keys, passkeys) and the recovery codes too."""
    if not second_factor_on(user):
        return CodeCheck(False, Reason.OFF, "Two-factor authentication is already off.")
    check = judge(user=user, code=code, request=request)
    if not check.accepted:
        return check
    with transaction.atomic():
        removed = remove_factors(user)
        if removed:
            record(type=SecurityEvent.Type.MFA_DISABLED, subject=user, request=request)
            queue_email(to=user.email, template="mfa_disabled", context={"user": user})
    return check


def judge(*, user: User, code: str, request: HttpRequest | None) -> CodeCheck:
    """Judge a code confirming a change that turns 2FA off: a code from the app (6 digits)
    or a recovery code, whichever `code` reads as."""
    device = active_device(user)
    if device is not None and totp.normalize_code(code) is not None:
        return verify_code(device=device, code=code, request=request, purpose="disable")
    if recovery_codes.parse(code) is not None:
        return recovery_codes.verify_recovery_code(
            user=user, code=code, request=request, purpose="disable"
        )
    return CodeCheck(
        False,
        Reason.MALFORMED,
        "Enter the 6-digit code from your app, or one of your recovery codes.",
    )
