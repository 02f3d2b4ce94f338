from django.core.management.base import BaseCommand

from twostep.mfa.key_rotation import rotate_encryption_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every TOTP secret under the newest key of TWOSTEP_ENCRYPTION_KEYS. "
        "Afterwards the older keys can be removed from the setting."
    )

    def handle(self, *args, **options):
        count = rotate_encryption_keys()
        self.stdout.write(f"Re-encrypted {count} secret(s) under the newest key.")
