"""The challenge of each ceremony: random, bound to the session that asked for it, valid
for five minutes, and used at most once.

The session is named by the SHA-256 of its key, so the table holds nothing that could
stand in for the session cookie. A challenge is used up by one conditional DELETE that
names the session, the purpose, the account, the challenge itself and the deadline: of two
requests carrying the same answer (a replay, a double click, two processes at once)
exactly one sees a row deleted, on any database, with no lock held in between.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from twostep.accounts.models import User

from ..models import WebAuthnChallenge

CHALLENGE_BYTES = 32  # WebAuthn asks for at least 16; 256 bits leaves nothing to guess
LIFETIME = timedelta(minutes=5)

Purpose = WebAuthnChallenge.Purpose


def session_hash(session: SessionBase) -> str:
    """The SHA-256 (hex) of the session's key, saving a new session first so it has one.

    A saved new session is also marked modified, so the response sets its cookie.
    """
    if session.session_key is None:
        session.save()
        session.modified = True
    key = session.session_key
    assert key is not None  # save() gave it one
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def issue(*, session: SessionBase, purpose: str, user: User | None) -> bytes:
    """A new challenge for `purpose` in this session, replacing the session's earlier one
    for the same purpose (and clearing expired ones). `user` is the account the ceremony
    is for: the logged-in person, the pending login's account, or None (passwordless)."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    owner = session_hash(session)
    now = timezone.now()
    with transaction.atomic():
        WebAuthnChallenge.objects.filter(
            Q(session_hash=owner, purpose=purpose) | Q(expires_at__lte=now)
        ).delete()
        WebAuthnChallenge.objects.create(
            session_hash=owner,
            purpose=purpose,
            user=user,
            challenge=challenge,
            expires_at=now + LIFETIME,
        )
    return challenge


def consume(
    *, session: SessionBase, purpose: str, user: User | None, challenge: bytes, now: datetime
) -> bool:
    """Use up `challenge` if this session was given it for `purpose` and `user` and it has
    not expired. True for exactly one caller; False for a replay, a loser of a race, an
    expired or unknown challenge. One statement."""
    if session.session_key is None:
        return False
    deleted, _ = WebAuthnChallenge.objects.filter(
        session_hash=hashlib.sha256(session.session_key.encode("ascii")).hexdigest(),
        purpose=purpose,
        user=user,
        challenge=challenge,
        expires_at__gt=now,
    ).delete()
    return deleted == 1
