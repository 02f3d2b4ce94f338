from django.db import models


class OutgoingEmail(models.Model):
    """A message waiting for, or done with, delivery. Survives an SMTP outage."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Not delivered"

    to = models.EmailField()
    # Chosen when queued and sent as the Message-ID header on every attempt, so a receiver
    # can drop the copy sent again after a worker died mid-send.
    message_id = models.CharField(max_length=255)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # Failed attempts are retried until then; a failure after it gives the message up.
    retry_until = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="mail_due")]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to} ({self.status})"


class WorkerHeartbeat(models.Model):
    """One background worker process (host and pid) and when it last completed a pass:
    written by each pass, read by `worker_status` and the support console."""

    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_pass_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "pid"], name="one_row_per_worker")]

    def __str__(self) -> str:
        return f"worker {self.host}:{self.pid}"
