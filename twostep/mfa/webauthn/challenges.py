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
from django.db import connections, router, transaction
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
    return hash_of(key)


def hash_of(session_key: str) -> str:
    return hashlib.sha256(session_key.encode("ascii")).hexdigest()


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
    owner = hash_of(session.session_key)
    connection = connections[router.db_for_write(WebAuthnChallenge)]
    stamp = connection.ops.adapt_datetimefield_value(now)
    sql = _CONSUME_ANY_ACCOUNT if user is None else _CONSUME
    params = [owner, purpose, challenge, stamp] + ([] if user is None else [user.pk])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


# Written as SQL: this statement is most of an assertion check's cost, and the ORM's delete
# (its collector) would add as much again. The table name is the model's own; every value
# is a query parameter.
_CONSUME_ANY = (
    f"DELETE FROM {WebAuthnChallenge._meta.db_table}"  # noqa: S608
    " WHERE session_hash = %s AND purpose = %s AND challenge = %s AND expires_at > %s"
)
_CONSUME_ANY_ACCOUNT = _CONSUME_ANY + " AND user_id IS NULL"
_CONSUME = _CONSUME_ANY + " AND user_id = %s"
