"""Encryption at rest for TOTP secrets.

Keys come from settings.TWOSTEP_ENCRYPTION_KEYS (never from the database), newest first:
MultiFernet encrypts with the first and decrypts with any, so keys can be rotated and
`rotate()` moves a token to the newest key.
"""

from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode("ascii")) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.TWOSTEP_ENCRYPTION_KEYS))


def encrypt(plaintext: bytes) -> str:
    return _current().encrypt(plaintext).decode("ascii")


def decrypt(token: str) -> bytes:
    """Raises cryptography.fernet.InvalidToken if no configured key opens the token."""
    return _current().decrypt(token.encode("ascii"))


def rotate(token: str) -> str:
    """The same plaintext encrypted under the newest key."""
    return _current().rotate(token.encode("ascii")).decode("ascii")
