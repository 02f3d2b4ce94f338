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
    several processes receive it at the same moment. The throttle of wrong codes lives on
    MfaState, shared with every other factor of the account.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    encrypted_secret = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(default=-1)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "TOTP device"

    def __str__(self) -> str:
        state = "active" if self.is_active else "pending"
        return f"Authenticator of {self.user} ({state})"

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None

    def secret(self) -> bytes:
        return crypto.decrypt(self.encrypted_secret)

    def provisioning_uri(self) -> str:
        return totp.provisioning_uri(
            self.secret(), account=self.user.email, issuer=settings.TWOSTEP_TOTP_ISSUER
        )


class MfaState(models.Model):
    """What every second factor of an account shares, one row per account that ever had one.

    `methods` counts the methods a person can log in with (the authenticator app once
    confirmed, each security key or passkey); 2FA is on while it is above zero. Recovery
    codes are a way back, not a method: they never turn 2FA on alone. The count is kept by
    the factor services under this row's lock, in the transaction that adds or removes a
    method, and this row comes with the user in the session's one query, so a page learns
    whether 2FA is on without a statement of its own.

    `failure_count` and `next_try_at` are the second step's throttle, shared by every
    factor: a wrong code, a wrong recovery code and a refused security key all count here,
    so switching methods buys an attacker nothing.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="mfa_state",
    )
    methods = models.PositiveSmallIntegerField(default=0)
    failure_count = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    # The WebAuthn user handle: random, never the primary key or the email (the spec asks
    # that it identify nobody), made when the first key is registered.
    webauthn_user_handle = models.BinaryField(max_length=64, null=True, unique=True)

    class Meta:
        verbose_name = "two-factor state"

    def __str__(self) -> str:
        return f"Two-factor state of {self.user}"

    @property
    def enabled(self) -> bool:
        return self.methods > 0

    @property
    def is_locked(self) -> bool:
        return self.failure_count >= LOCK_AFTER


MAX_SECURITY_KEYS = 10


class SecurityKey(models.Model):
    """A security key or passkey (a WebAuthn credential) registered by its owner.

    Nothing here is secret: the public key checks signatures, the credential ID names the
    credential (unique across all accounts, base64url as the browser gives it). The sign
    count must only grow; a count that goes backwards means a cloned authenticator.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_keys"
    )
    name = models.CharField(max_length=64)
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)
    # Backup eligible / backed up (the flags of the authenticator data): a synced passkey.
    backup_eligible = models.BooleanField(default=False)
    backed_up = models.BooleanField(default=False)
    # Whether the authenticator said it made a discoverable credential (credProps); None
    # when it did not say. Only a discoverable one can log in without a password.
    discoverable = models.BooleanField(null=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


class WebAuthnChallenge(models.Model):
    """One WebAuthn ceremony in progress: its random challenge, bound to the session that
    asked for it (by the SHA-256 of its key, never the key itself), valid until
    `expires_at`, and used at most once: answering deletes the row in one conditional
    DELETE, so of two answers racing with the same assertion exactly one is judged."""

    class Purpose(models.TextChoices):
        REGISTER = "register", "Add a security key"
        SECOND_STEP = "second_step", "Second step of a login"
        PASSWORDLESS = "passwordless", "Log in with a passkey"
        CONFIRM = "confirm", "Confirm it's you"

    session_hash = models.CharField(max_length=64)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True
    )
    challenge = models.BinaryField(max_length=64)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["session_hash", "purpose"]),
            models.Index(fields=["expires_at"]),  # issue() clears the expired ones
        ]

    def __str__(self) -> str:
        return f"WebAuthn challenge ({self.purpose}, until {self.expires_at:%Y-%m-%d %H:%M})"


RECOVERY_CODES_PER_SET = 10


class RecoveryCode(models.Model):
    """One of an account's one-time recovery codes, stored as NIST SP 800-63B asks for a
    secret under 112 bits: salted and hashed with argon2id.

    A code reads as groups of Crockford base32; its first group (`lookup`) is stored in
    clear and unique within the account, so checking a code costs one hash verification,
    never ten. It is used up by one conditional UPDATE of `used_at`.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    lookup = models.CharField(max_length=8)
    code_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "lookup"], name="recovery_code_lookup_unique")
        ]

    def __str__(self) -> str:
        state = "used" if self.used_at else "unused"
        return f"Recovery code of {self.user} ({state})"
