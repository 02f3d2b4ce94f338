from django.conf import settings
from django.contrib.auth import hashers


class Argon2PasswordHasher(hashers.Argon2PasswordHasher):
    """Django's argon2id hasher with its cost from settings.TWOSTEP_ARGON2."""

    time_cost, memory_cost, parallelism = settings.TWOSTEP_ARGON2
