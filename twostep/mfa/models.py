from datetime import timedelta

from django.conf import settings
from django.db import models

from . import crypto, totp

# Code-step throttle (NIST 800-63B 5.2.2): free tries, then exponential back-off, then a
# lock only support can clear.
FREE_FAILURES = 5
BACKOFF_CAP = timedelta(hours=1)
LOCK_AFTER = 100


class TOTPDevice(models.Model):
    """A person's authenticator app. Pending until a first code confirms it.

    `last_used_step` is the newest time step a code was accepted for: a code is accepted
    only by a conditional UPDATE that raises it, so each code works at most once even when
    several processes receive it at the same moment. `failure_count` and `next_try_at` are
    the code-step throttle, shared by every process because they live here.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    encrypted_secret = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(default=-1)
    failure_count = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "TOTP device"

    def __str__(self) -> str:
        state = "active" if self.is_active else "pending"
        return f"Authenticator of {self.user} ({state})"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None

    @property
    def is_locked(self) -> bool:
        return self.failure_count >= LOCK_AFTER

    def secret(self) -> bytes:
        return crypto.decrypt(self.encrypted_secret)

    def provisioning_uri(self) -> str:
        return totp.provisioning_uri(
            self.secret(), account=self.user.email, issuer=settings.TWOSTEP_TOTP_ISSUER
        )
