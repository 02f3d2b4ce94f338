"""Turning the authenticator app on (start, then confirm with a first code, judged by
verification.verify_code) and turning 2FA off, which removes every method: the app, keys
and passkeys, and the recovery codes. Both come after "confirm it's you" (the views ask
accounts.confirmation), which is where the person proves their factors."""

from dataclasses import dataclass

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from twostep.accounts.models import User
from twostep.accounts.sessions import end_other_sessions
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.services import queue_email

from . import crypto, totp
from .checks import CodeCheck
from .factors import recount_methods, remove_factors
from .models import TOTPDevice
from .throttle import ensure_state
from .verification import verify_code


class AlreadyEnabled(Exception):
    """The account already has an active authenticator."""


@dataclass(frozen=True)
class Enrolment(CodeCheck):
    """A CodeCheck that also says whether the app was the account's first method (2FA has
    just turned on: its first recovery codes come next)."""

    first: bool = False


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
        # The throttle's write-time re-check needs the account's row (positive EXISTS on
        # PostgreSQL): the first code, judged before the app counts as a method, too.
        ensure_state(user)
        device = TOTPDevice.objects.create(
            user=user,
            encrypted_secret=crypto.encrypt(totp.generate_secret()),
            created_at=timezone.now(),
        )
        record(type=SecurityEvent.Type.MFA_ENROLMENT_STARTED, subject=user, request=request)
    return device


def confirm_enrolment(*, device: TOTPDevice, code: str, request: HttpRequest | None) -> Enrolment:
    """Activate a pending device with a first correct code, which is consumed. When it is
    the account's first method, 2FA turns on (MFA_ENABLED); otherwise the app joins the
    keys already protecting the account (MFA_APP_ADDED). Each with its email."""
    check = verify_code(device=device, code=code, request=request, purpose="enrol")
    if not check.accepted:
        return Enrolment(check.accepted, check.reason, check.message, check.retry_at)
    user = device.user
    with transaction.atomic():
        now = timezone.now()
        activated = TOTPDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True).update(
            confirmed_at=now
        )
        if not activated:
            return Enrolment(True)
        device.confirmed_at = now
        before, _ = recount_methods(user, request=request)
        # Often the answer to a leaked password: other sessions (the leak's) end here.
        end_other_sessions(user, keep=request.session.session_key if request is not None else None)
        if before > 0:
            record(type=SecurityEvent.Type.MFA_APP_ADDED, subject=user, request=request)
            queue_email(to=user.email, template="app_added", context={"user": user})
            return Enrolment(True)
        # 2FA is on again after a support reset: stop recommending it.
        User.objects.filter(pk=device.user_id).update(mfa_reset_at=None)
        record(type=SecurityEvent.Type.MFA_ENABLED, subject=user, request=request)
        queue_email(to=user.email, template="mfa_enabled", context={"user": user})
    return Enrolment(True, first=True)


def turn_off(*, user: User, request: HttpRequest | None) -> None:
    """Remove every method (the person confirmed it's them just before), recorded and
    emailed when there was one."""
    with transaction.atomic():
        removed = remove_factors(
            user, request=request, reason="two-factor authentication turned off"
        )
        if removed:
            record(type=SecurityEvent.Type.MFA_DISABLED, subject=user, request=request)
            queue_email(to=user.email, template="mfa_disabled", context={"user": user})
