"""bench_seed --users N --password P --secret-hex HEX

Creates bench0..bench{N-1}, all with one password hash (hashed once with the configured
hasher) and each with a confirmed TOTP device named "default" (two_factor's default
device) holding HEX. Idempotent: the bench users (and, by cascade, their devices and
anything else they own) are deleted first.
"""

import binascii

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

BATCH = 1000


class Command(BaseCommand):
    help = "Create bench users with one shared password and one shared TOTP secret."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--secret-hex", required=True, dest="secret_hex")

    def handle(self, *args, users, password, secret_hex, **options):
        if users < 1:
            raise CommandError("--users must be at least 1")
        secret_hex = secret_hex.strip().lower()
        try:
            if len(binascii.unhexlify(secret_hex)) != 20:
                raise CommandError("--secret-hex must be 20 bytes (40 hex digits)")
        except binascii.Error as exc:
            raise CommandError(f"--secret-hex is not hex: {exc}") from exc

        User = get_user_model()
        encoded = make_password(password)  # once: argon2 at the configured cost
        names = [f"bench{i}" for i in range(users)]
        with transaction.atomic():
            User.objects.filter(username__regex=r"^bench[0-9]+$").delete()
            created = User.objects.bulk_create(
                [
                    User(username=name, email=f"{name}@example.com", password=encoded)
                    for name in names
                ],
                batch_size=BATCH,
            )
            if any(user.pk is None for user in created):  # no RETURNING on this backend
                created = list(User.objects.filter(username__in=names).order_by("pk"))
            TOTPDevice.objects.bulk_create(
                [
                    TOTPDevice(
                        user=user,
                        name="default",
                        confirmed=True,
                        key=secret_hex,
                        step=30,
                        t0=0,
                        digits=6,
                        tolerance=1,
                        drift=0,
                    )
                    for user in created
                ],
                batch_size=BATCH,
            )
        self.stdout.write(f"seeded {len(created)} users (bench0..bench{users - 1})")
