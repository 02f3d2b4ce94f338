from django.conf import settings
from django.db import models

MAX_MESSAGE_LENGTH = 2000


class Conversation(models.Model):
    """A thread between one person and support: a logged-in person's own, or the one on a
    recovery case (written from the case page without logging in)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="conversations",
    )
    case = models.OneToOneField(
        "recovery.RecoveryCase",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="conversation",
    )
    needs_reply = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(case__isnull=False),
                name="conversation_has_a_person",
            ),
            # A person has one conversation of their own (case conversations aside).
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(case__isnull=True),
                name="one_own_conversation_per_person",
            ),
        ]

    def __str__(self) -> str:
        who = self.user or (self.case and self.case.claimed_email)
        return f"Conversation #{self.pk} with {who}"


class Message(models.Model):
    """Plain text, escaped on display. `author` is None for a locked-out person writing
    from their case page (they are not logged in)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    from_support = models.BooleanField(default=False)
    body = models.TextField(max_length=MAX_MESSAGE_LENGTH)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["conversation", "id"], name="message_poll")]

    def __str__(self) -> str:
        return f"Message #{self.pk} in conversation #{self.conversation_id}"
