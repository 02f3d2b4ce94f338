"""The write that accepts a verified assertion: the challenge used up and the key's sign
count raised, as one conditional write so of racing answers exactly one is accepted.

On PostgreSQL one statement (one round trip, one commit): a DELETE of the challenge and an
UPDATE of the key in one WITH, the UPDATE only if the DELETE found the challenge, the count
grew (or both are zero: many passkeys never count) and the account's second step is not
held back (throttle.NOT_HELD_BACK). A passkey that never counts was used less than a day
ago costs no write of its key: only the last use's date would change. Elsewhere (SQLite)
the DELETE and an UPDATE in one transaction (SQLite takes its write lock at the DELETE).

Every table name is the models' own; every value is a query parameter.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connections, router, transaction

from twostep.accounts.models import User

from ..models import LOCK_AFTER, SecurityKey, WebAuthnChallenge
from ..throttle import NOT_HELD_BACK
from . import challenges
from .ceremonies import Assertion

LAST_USED_EVERY = timedelta(days=1)  # how stale last_used_at may get for a key that never counts

_KEY = SecurityKey._meta.db_table
_CHALLENGE = WebAuthnChallenge._meta.db_table


@dataclass(frozen=True)
class Use:
    """The challenge an answer claims: this session's, for `purpose` and `user`."""

    session_hash: str
    purpose: str
    user: User | None
    challenge: bytes
    now: datetime


@dataclass(frozen=True)
class Outcome:
    won: bool  # the challenge was there and is now used up
    advanced: bool  # the sign count (or the zero count) is accepted


_DELETE = (
    f"DELETE FROM {_CHALLENGE}"  # noqa: S608
    " WHERE session_hash = %s AND purpose = %s AND challenge = %s AND expires_at > %s"
)
_GREW = "(sign_count < %s OR (sign_count = 0 AND %s = 0"
# Parameters: the DELETE's, then new count, now, backed up, key id, new, new, a day ago,
# backed up, NOT_HELD_BACK's three; then key id, new, NOT_HELD_BACK's three.
_USE_AND_ADVANCE = (
    "WITH used AS ({delete} RETURNING 1),"  # noqa: S608
    f" moved AS (UPDATE {_KEY} SET sign_count = %s, last_used_at = %s, backed_up = %s"
    f" WHERE id = %s AND EXISTS (SELECT 1 FROM used) AND {_GREW} AND"
    f" (last_used_at IS NULL OR last_used_at < %s OR backed_up <> %s))){NOT_HELD_BACK}"
    " RETURNING 1)"
    " SELECT (SELECT count(*) FROM used), (SELECT count(*) FROM moved),"
    f" EXISTS (SELECT 1 FROM {_KEY} WHERE id = %s AND sign_count = 0 AND %s = 0{NOT_HELD_BACK})"
)
_ADVANCE = (
    f"UPDATE {_KEY} SET sign_count = %s, last_used_at = %s, backed_up = %s"  # noqa: S608
    f" WHERE id = %s AND {_GREW})){NOT_HELD_BACK}"
)


def _delete(use: Use, stamp: Any) -> tuple[str, list[Any]]:
    params: list[Any] = [use.session_hash, use.purpose, use.challenge, stamp]
    if use.user is None:
        return _DELETE + " AND user_id IS NULL", params
    return _DELETE + " AND user_id = %s", [*params, use.user.pk]


def use_and_advance(key: SecurityKey, verified: Assertion, use: Use) -> Outcome:
    """Use up the challenge and accept the verified answer's sign count. `won` False: a
    replay, the loser of a race, an expired or unknown challenge (nothing written).
    `advanced` False: the count went backwards, the key is gone or the throttle holds."""
    connection = connections[router.db_for_write(SecurityKey)]
    stamp = connection.ops.adapt_datetimefield_value(use.now)
    new, backed_up = verified.new_sign_count, verified.backed_up
    held = [key.user_id, LOCK_AFTER, stamp]
    delete, delete_params = _delete(use, stamp)
    if connection.vendor == "postgresql":
        stale = connection.ops.adapt_datetimefield_value(use.now - LAST_USED_EVERY)
        params = [
            *delete_params,
            *(new, stamp, backed_up, key.pk, new, new, stale, backed_up, *held),
            *(key.pk, new, *held),
        ]
        with connection.cursor() as cursor:
            cursor.execute(_USE_AND_ADVANCE.format(delete=delete), params)
            used, moved, zero_kept = cursor.fetchone()
        return Outcome(used == 1, used == 1 and (moved == 1 or bool(zero_kept)))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(delete, delete_params)
        if cursor.rowcount != 1:
            return Outcome(False, False)
        cursor.execute(_ADVANCE, [new, stamp, backed_up, key.pk, new, new, *held])
        return Outcome(True, cursor.rowcount == 1)


def use_only(use: Use) -> bool:
    """Use up the challenge of an answer that was refused: it stays used. True if it was
    there (the refusal is then judged; otherwise it is a replay)."""
    connection = connections[router.db_for_write(WebAuthnChallenge)]
    stamp = connection.ops.adapt_datetimefield_value(use.now)
    delete, params = _delete(use, stamp)
    with connection.cursor() as cursor:
        cursor.execute(delete, params)
        return cursor.rowcount == 1


def session_use(
    session_key: str | None, *, purpose: str, user: User | None, challenge: bytes, now: datetime
) -> Use | None:
    """The Use for a session (None for a session that was never given anything)."""
    if session_key is None:
        return None
    return Use(challenges.hash_of(session_key), purpose, user, challenge, now)
