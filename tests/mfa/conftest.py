"""Helpers for the authenticator factor: wrong codes, its events, emails, device rows and
the shared throttle."""

import random
from datetime import datetime

from django.utils import timezone

from tests.helpers import SECRET
from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mfa import totp
from twostep.mfa.models import MfaState, TOTPDevice


def wrong_code(secret: bytes = SECRET, when: datetime | None = None) -> str:
    """A well-formed code that no step within the drift reach of `when` produces."""
    step = totp.time_step((when or timezone.now()).timestamp())
    near = {totp.hotp(secret, s) for s in range(step - 20, step + 21)}
    # Not "000000" and the like, which also occur inside timestamps.
    candidates = (f"{random.Random(step + n).randrange(10**6):06d}" for n in range(100))
    return next(code for code in candidates if code not in near)


def events(user: User, type: str) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(subject=user, type=type).order_by("id"))


def emails(user: User, subject: str) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(to=user.email, subject=subject))


def reload(device: TOTPDevice) -> TOTPDevice:
    return TOTPDevice.objects.get(pk=device.pk)


def throttle_of(device: TOTPDevice) -> MfaState:
    """The second step's shared throttle of the device's account, as stored now."""
    return MfaState.objects.get(user_id=device.user_id)
