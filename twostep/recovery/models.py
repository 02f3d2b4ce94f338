from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from twostep.chat import services as chat
from twostep.chat.models import Conversation


class RecoveryCase(models.Model):
    """A locked-out person's request to have their 2FA reset, and support's handling of it.

    Nothing advances on a claimed sender address alone: `mailbox_confirmed_at` records that
    the account's own mailbox opened the confirmation link. The reset itself happens only
    after approval *and* the cooling-off period (`reset_due_at`), and the owner can cancel.
    """

    class Status(models.TextChoices):
        NEW = "new", "New"
        AWAITING_CONFIRMATION = "awaiting_confirmation", "Awaiting email confirmation"
        IN_VERIFICATION = "in_verification", "In verification"
        APPROVED = "approved", "Approved, waiting"
        DONE = "done", "Done"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    OPEN = (Status.NEW, Status.AWAITING_CONFIRMATION, Status.IN_VERIFICATION, Status.APPROVED)

    class Source(models.TextChoices):
        WEB = "web", "Recovery form"
        EMAIL = "email", "Email to support"
        CHAT = "chat", "Support chat"
        EMAIL_CHANGE = "change", _("Email change cancelled from the old address")

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="recovery_cases",
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.NEW)
    claimed_email = models.EmailField()
    # The person's words: copied from the request the owner confirmed as theirs through the
    # mailed confirm link (RecoveryRequest.verified_at), blank until then.
    claimed_name = models.CharField(max_length=200, blank=True)
    claimed_organizations = models.TextField(blank=True)
    explanation = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
    )
    # With SECRET_KEY, derives the confirm and access links (links.case_link_token).
    link_salt = models.CharField(max_length=32, blank=True)
    # Hashes of the links mailed to the account's own address.
    confirm_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    access_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    cancel_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    mailbox_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The case's conversation between the person (from the case page) and support: the
    # case owns it, so chat knows nothing of cases. It goes with the case
    # (delete_case_conversation).
    # RESTRICT, not PROTECT: a conversation cannot go while its case stays, but one
    # deletion that takes both (the account's) may.
    conversation = models.OneToOneField(
        Conversation, on_delete=models.RESTRICT, related_name="case"
    )
    # The verification checklist: the mailbox item is proven by the link, the others are
    # ticked by the agent.
    check_name = models.BooleanField(default=False)
    check_organizations = models.BooleanField(default=False)
    evidence = models.TextField(blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # With no manager who could vouch, two agents approve: the first is recorded here.
    first_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    first_approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    reset_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Failed attempts of the worker at the due reset; at attempts.MAX_ATTEMPTS it stops
    # trying and the case page says so.
    reset_failures = models.PositiveSmallIntegerField(default=0)
    # The last "support wrote on your case" email (notices.notify_support_message): at most
    # one per NOTICE_INTERVAL, and none while it is still unsent.
    support_notice_at = models.DateTimeField(null=True, blank=True)
    support_notice_email = models.ForeignKey(
        "mail.OutgoingEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Support wrote within NOTICE_INTERVAL of the last notice: the worker sends one when
    # the interval ends (notices.send_pending_notices).
    support_notice_pending = models.BooleanField(default=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"], name="case_queue")]
        constraints = [
            # One open case per account, whichever path opens it (cases.open_or_join).
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(
                    status__in=["new", "awaiting_confirmation", "in_verification", "approved"]
                ),
                name="one_open_case_per_account",
            )
        ]

    def __str__(self) -> str:
        return f"Case #{self.pk} ({self.claimed_email}, {self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def mailbox_confirmed(self) -> bool:
        return self.mailbox_confirmed_at is not None

    @property
    def checklist_complete(self) -> bool:
        return self.mailbox_confirmed and self.check_name and self.check_organizations


class RecoveryRequest(models.Model):
    """Every request as it arrived (form or email), kept even when it opened no case."""

    source = models.CharField(max_length=10, choices=RecoveryCase.Source.choices)
    claimed_email = models.CharField(max_length=254, blank=True)
    claimed_name = models.CharField(max_length=200, blank=True)
    claimed_organizations = models.TextField(blank=True)
    explanation = models.TextField(blank=True)
    raw_message = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # The From header as received (email): with `ip`, where an unverified claim came from.
    sender = models.CharField(max_length=300, blank=True)
    # Whether this request mailed the case's links (counted for MAX_LINK_MAILS_PER_CASE).
    mailed_links = models.BooleanField(default=False)
    # When the owner, through the confirm link mailed to the account, said this request is
    # theirs: only then is its text the person's words.
    verified_at = models.DateTimeField(null=True, blank=True)
    # The worker's failed attempts at acting on it (attempts.MAX_ATTEMPTS, then "error").
    attempts = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=200)
    # Sent from the old or the new address of an email change within its watch window
    # (email_watch.py): flagged in the support console.
    email_change = models.ForeignKey(
        "accounts.EmailChange", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case = models.ForeignKey(
        RecoveryCase, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["claimed_email", "created_at"], name="request_by_email"),
            models.Index(fields=["ip", "created_at"], name="request_by_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} from {self.claimed_email}: {self.outcome}"

    @property
    def origin(self) -> str:
        """Where it came from, as far as we can tell: the client's IP or the From header."""
        if self.source == RecoveryCase.Source.CHAT:
            return self.sender
        parts = [f"IP {self.ip}"] if self.ip else []
        parts += [f"From: {self.sender}"] if self.sender else []
        return ", ".join(parts) or "unknown"


class Vouch(models.Model):
    """A manager of one of the person's organizations asked to confirm who they are."""

    class Answer(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        CONFIRMED = "confirmed", "Confirmed"
        DENIED = "denied", "Denied"

    case = models.ForeignKey(RecoveryCase, on_delete=models.CASCADE, related_name="vouches")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vouch_requests"
    )
    organization = models.ForeignKey("organizations.Organization", on_delete=models.CASCADE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    answer = models.CharField(max_length=10, choices=Answer.choices, default=Answer.PENDING)
    comment = models.TextField(blank=True)
    requested_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at"]

    def __str__(self) -> str:
        return f"Vouch by {self.manager} for case #{self.case_id}: {self.answer}"


class ManagerCancelLink(models.Model):
    """A manager of the person's organization, emailed during the cooling-off, may cancel
    the reset with their own link (only its hash is stored)."""

    case = models.ForeignKey(RecoveryCase, on_delete=models.CASCADE, related_name="cancel_links")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Cancel link of {self.manager} for case #{self.case_id}"


@receiver(post_delete, sender=RecoveryCase)
def delete_case_conversation(sender: type[RecoveryCase], instance: RecoveryCase, **_: Any) -> None:
    """The case owns its conversation, so the database cascade runs the other way: a
    deleted case (its account deleted) takes its conversation with it here."""
    chat.delete_case_conversation(instance.conversation_id)
