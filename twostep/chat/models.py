from django.conf import settings
from django.db import models

MAX_MESSAGE_LENGTH = 2000


class Conversation(models.Model):
    """A thread between one person and support: a logged-in person's own (`Kind.OWN`, one
    per person), or a case's (`Kind.CASE`), which the app that owns the case links to and
    shows on a page of its own, written without logging in: it may have no user.

    The kind is stored rather than read from a missing user: an own conversation always
    has its user, while a case's may or may not, so only the kind tells them apart; the
    person's poll and the partial unique index on `user` (where the kind is own) both use it.
    """

    class Kind(models.TextChoices):
        OWN = "own", "A person's own conversation"
        CASE = "case", "A case's conversation"

    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.OWN)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="conversations",
    )
    needs_reply = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            # A person's own conversation has its person; a case's may have no user.
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(kind="case"),
                name="conversation_has_a_person",
            ),
            # A person has one conversation of their own (case conversations aside).
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(kind="own"),
                name="one_own_conversation_per_person",
            ),
        ]

    def __str__(self) -> str:
        if self.user is None:
            return f"Conversation #{self.pk} on a case"
        return f"Conversation #{self.pk} with {self.user}"


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
