"""Moving every stored secret to the newest encryption key (manage.py
rotate_encryption_keys), recorded in the audit log."""

from django.db import transaction

from twostep.audit.models import SecurityEvent
from twostep.audit.services import record

from . import crypto
from .models import TOTPDevice


def rotate_encryption_keys(*, batch: int = 500) -> int:
    """Re-encrypt every secret under the newest key and record it. Returns how many were
    rewritten; raises InvalidToken (changing nothing) if a secret is under a removed key.

    Pages by primary key instead of iterating a cursor over the table it writes (SQLite
    gives no isolation between the two). A row is rewritten only if it still holds the
    token read, so a secret replaced meanwhile is never overwritten with the old one.
    """
    rewritten, after = 0, 0
    devices = TOTPDevice.objects.order_by("pk").values_list("pk", "encrypted_secret")
    with transaction.atomic():
        while page := list(devices.filter(pk__gt=after)[:batch]):
            for pk, token in page:
                rewritten += TOTPDevice.objects.filter(pk=pk, encrypted_secret=token).update(
                    encrypted_secret=crypto.rotate(token)
                )
            after = page[-1][0]
        record(type=SecurityEvent.Type.KEYS_ROTATED, subject=None, actor=None, count=rewritten)
    return rewritten
