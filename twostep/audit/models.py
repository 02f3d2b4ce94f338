from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyQuerySet(models.QuerySet):
    """Bulk `update()` and `delete()` would skip the model's guards: refused too.

    (Deleting a user still sets `actor`/`subject` to NULL: Django does that through the
    base manager, and the event itself stays.)
    """

    def update(self, **kwargs):
        raise ValueError("Security events are append-only.")

    def delete(self):
        raise ValueError("Security events are append-only.")


class SecurityEvent(models.Model):
    """One security-relevant fact, append-only: written with the change it describes.

    `actor` did it, `subject` is the account it concerned (the same person for their own
    login, a support agent and a customer for a reset). `details` never holds a code or a
    secret.
    """

    class Type(models.TextChoices):
        LOGIN = "login", "Logged in"
        LOGIN_FAILED = "login_failed", "Wrong password"
        LOGIN_THROTTLED = "login_throttled", "Login attempts throttled"
        LOGOUT = "logout", "Logged out"
        PASSWORD_OK = "password_ok", "Password accepted, code requested"
        CODE_FAILED = "code_failed", "Wrong authentication code"
        CODE_REUSE = "code_reuse", "Code reuse"
        MFA_LOCKED = "mfa_locked", "Second step locked"
        MFA_UNLOCKED = "mfa_unlocked", "Second step unlocked"
        MFA_ENROLMENT_STARTED = "mfa_enrolment_started", "2FA set-up started"
        MFA_ENABLED = "mfa_enabled", "2FA turned on"
        MFA_DISABLED = "mfa_disabled", "2FA turned off"
        MFA_APP_ADDED = "mfa_app_added", "Authenticator app added (2FA already on)"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
        PASSWORD_RESET = "password_reset", "Password reset by email"
        PASSWORD_SET_IN_ADMIN = "password_set_in_admin", "Password set in the admin"
        SIGNUP = "signup", "Account created"
        SIGNUP_CONFIRMED = "signup_confirmed", "Email address confirmed"
        KEYS_ROTATED = "keys_rotated", "Secrets re-encrypted under a new key"
        RECOVERY_REQUESTED = "recovery_requested", "2FA recovery requested"
        RECOVERY_MAILBOX_CONFIRMED = (
            "recovery_mailbox_confirmed",
            "Recovery request confirmed by email",
        )
        CASE_VIEWED = "case_viewed", "Recovery case viewed by support"
        CASE_ASSIGNED = "case_assigned", "Recovery case assigned"
        CASE_NOTE = "case_note", "Recovery case verification updated"
        VOUCH_REQUESTED = "vouch_requested", "Manager asked to vouch"
        VOUCH_ANSWERED = "vouch_answered", "Manager vouched"
        CASE_APPROVED = "case_approved", "2FA reset approved"
        CASE_REJECTED = "case_rejected", "Recovery request rejected"
        CASE_CANCELLED = "case_cancelled", "2FA reset cancelled"
        MFA_RESET = "mfa_reset", "2FA reset by support"
        CHAT_CASE_OPENED = "chat_case_opened", "Recovery case opened from the chat"
        EMAIL_RESENT = "email_resent", "Undelivered email re-sent by support"
        CASE_FIRST_APPROVAL = "case_first_approval", "2FA reset approved by a first agent"
        SIGNUP_EXISTING = "signup_existing", "Sign-up tried with this address"
        KEY_ADDED = "key_added", "Security key or passkey added"
        KEY_REMOVED = "key_removed", "Security key or passkey removed"
        KEY_RENAMED = "key_renamed", "Security key or passkey renamed"
        KEY_REFUSED = "key_refused", "Security key or passkey refused"
        KEY_SIGN_COUNT_REGRESSED = (
            "key_sign_count_regressed",
            "Security key refused: its sign count went backwards (a possible copy)",
        )
        RECOVERY_CODES_GENERATED = "recovery_codes_generated", "Recovery codes generated"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        RECOVERY_CODES_LOW = "recovery_codes_low", "Recovery codes running low"
        SESSION_ENDED = "session_ended", "Session ended from another browser"
        OTHER_SESSIONS_ENDED = "other_sessions_ended", "Logged out everywhere else"
        SIGNED_OUT_EVERYWHERE = "signed_out_everywhere", "Signed out everywhere (not me)"
        EMAIL_CHANGE_REQUESTED = "email_change_requested", "Email change requested"
        EMAIL_CHANGED = "email_changed", "Email address changed"
        EMAIL_CHANGE_CANCELLED = "email_change_cancelled", "Email change cancelled"
        CONFIRMED_IDENTITY = "confirmed_identity", _("Identity confirmed")
        BROWSER_REMEMBERED = "browser_remembered", "Browser remembered: no code asked there"
        REMEMBERED_BROWSER_FORGOTTEN = (
            "remembered_browser_forgotten",
            "Remembered browser forgotten",
        )
        REMEMBERED_BROWSERS_FORGOTTEN = (
            "remembered_browsers_forgotten",
            "Remembered browsers forgotten",
        )

    type = models.CharField(max_length=40, choices=Type.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events_acted",
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="security_events",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject", "-created_at"], name="event_subject_recent")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} ({self.created_at:%Y-%m-%d %H:%M})"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Security events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Security events are append-only.")
