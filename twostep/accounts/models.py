from importlib import import_module

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .user_relations import with_relations


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively: store and look them up lower-cased."""
    return email.strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        # With the relations registered to come with the user (the authenticator): the login
        # goes on to ask for a code without another query.
        users = with_relations(self.all())
        return users.get(email=normalize_email(username or ""))


class User(AbstractBaseUser, PermissionsMixin):
    """A person. The email address is the username."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    is_staff = models.BooleanField(default=False, help_text="Can use the admin and support.")
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Set when support reset this account's 2FA; cleared when 2FA is on again. While set,
    # each login shows the "re-enable 2FA" recommendation.
    mfa_reset_at = models.DateTimeField(null=True, blank=True)
    # The last sign-up with this address, whether it created the account or not. Every
    # sign-up writes the row once, so the work does not tell whether the address is known.
    signup_tried_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class LoginThrottle(models.Model):
    """Consecutive password failures for one key ("account:<email>" or "ip:<address>").

    In the database so every app process counts the same failures.
    """

    key = models.CharField(max_length=200, unique=True)
    failure_count = models.PositiveIntegerField(default=0)
    next_try_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: {self.failure_count}"


class UserSession(AbstractBaseSession):
    """Django's database session with the logged-in user beside it, so that all the
    sessions of one account can be listed ("Where you're logged in") and ended at once
    (after a support reset of 2FA).

    The browser's address and User-Agent and the start are written when the row is made;
    `last_seen_at` (with the address and browser again) at most every
    session_activity.SEEN_EVERY, so most pages still cost one statement.
    """

    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "session"

    @classmethod
    def get_session_store_class(cls) -> type[SessionBase]:
        """The configured engine's store (the fast path's or Django's): both read and write
        these rows the same way. Looked up by name, as Django's session middleware does, so
        this module does not import the stores built on it."""
        return import_module(settings.SESSION_ENGINE).SessionStore


class EmailQuota(models.Model):
    """Sign-up and password-reset emails counted in the current hour for one key
    ("signup:address:<email>", "reset:address:<email>" or "ip:<address>"); the hour
    starts at its first counted email.

    In the database, counted by one conditional UPDATE, so every app process shares it.
    """

    key = models.CharField(max_length=200, unique=True)
    window_started_at = models.DateTimeField()
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class EmailChange(models.Model):
    """A request to move an account to a new address (email_change.py).

    It takes effect only when the link mailed to the new address is opened and its button
    pressed; the old address is told, with a link that cancels it (for CANCEL_DAYS). The
    links are derived from `link_salt` and the server's secret, never stored.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the new address")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled from the old address")
        REPLACED = "replaced", _("Replaced by a later request")
        # The account was secured before the new address confirmed: "This wasn't me", a
        # password change or reset, a support reset (email_change.void_pending).
        VOID = "void", _("Void: the account was secured meanwhile")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_changes")
    old_email = models.EmailField()
    new_email = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    link_salt = models.CharField(max_length=32)
    # The session that asked (session_list.session_id of its key): once it has ended, the
    # new address's link no longer works.
    session_hash = models.CharField(max_length=64, blank=True)
    requested_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["old_email", "requested_at"], name="email_change_old"),
            models.Index(fields=["new_email", "requested_at"], name="email_change_new"),
        ]

    def __str__(self) -> str:
        return f"{self.old_email} -> {self.new_email} ({self.status})"


class RememberedBrowser(models.Model):
    """A browser where the second step is skipped for `user` until `expires_at`
    ("Don't ask for a code on this browser", remembered.py).

    The browser's cookie holds 256 random bits; only their SHA-256 is stored, so the table
    hands out no credential. Listed in Settings and forgotten one by one, all at once, or
    by any change to the password or the second factors.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="remembered_browsers")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100)  # "Firefox on Linux": audit.describe_browser
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.label} ({self.user_id}, until {self.expires_at:%Y-%m-%d})"
