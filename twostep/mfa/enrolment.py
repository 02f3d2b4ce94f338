"""Turning the authenticator app on (start, then confirm with a first code) and off (with
a current code). Both judge the code through verification.verify_code."""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from twostep.accounts.models import User
from twostep.accounts.sessions import end_other_sessions
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.services import queue_email

from . import crypto, totp
from .factors import active_device
from .models import TOTPDevice
from .verification import CodeCheck, Reason, verify_code


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
    """Turn 2FA off with a current code. The code is consumed like a login code."""
    device = active_device(user)
    if device is None:
        return CodeCheck(False, Reason.OFF, "Two-factor authentication is already off.")
    check = verify_code(device=device, code=code, request=request, purpose="disable")
    if not check.accepted:
        return check
    with transaction.atomic():
        deleted, _ = TOTPDevice.objects.filter(pk=device.pk).delete()
        user.totp_device = None  # forget the cached relation: 2FA is off from here on
        if deleted:
            record(type=SecurityEvent.Type.MFA_DISABLED, subject=user, request=request)
            queue_email(to=user.email, template="mfa_disabled", context={"user": user})
    return check
