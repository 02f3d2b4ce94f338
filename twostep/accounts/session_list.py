"""Settings → "Where you're logged in": the account's sessions, and ending them.

A session is named on the page by a hash of its key, never the key itself: the key is the
session's credential, and the page must not hand out the others' to whoever reads it.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from twostep.audit.models import SecurityEvent
from twostep.audit.services import describe_browser, record

from .models import User, UserSession
from .sessions import end_other_sessions


def session_id(session_key: str) -> str:
    """How the page names a session: a hash of its key."""
    return hashlib.sha256(f"twostep-session:{session_key}".encode()).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    id: str
    browser: str
    ip: str | None
    started_at: datetime | None
    last_seen_at: datetime | None
    current: bool


def _live(user: User):
    return UserSession.objects.filter(user=user, expire_date__gt=timezone.now())


def sessions_of(user: User, *, current_key: str | None) -> list[SessionInfo]:
    """The account's live sessions, this browser's first, then the most recently seen."""
    rows = _live(user).only("session_key", "created_at", "last_seen_at", "ip", "user_agent")
    found = [
        SessionInfo(
            id=session_id(row.session_key),
            browser=describe_browser(row.user_agent),
            ip=row.ip,
            started_at=row.created_at,
            last_seen_at=row.last_seen_at,
            current=row.session_key == current_key,
        )
        for row in rows
    ]
    return sorted(found, key=lambda s: (not s.current, -_stamp(s.last_seen_at)))


def _stamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment else 0.0


class SessionGone(Exception):
    """No such session of this account (ended already, expired, someone else's, or this
    browser's own)."""


def end_session(*, request: HttpRequest, user: User, id: str) -> None:
    """End one of the account's other sessions, by its page id, and record it. Raises
    SessionGone, changing nothing, when there is no such session of this account: ended
    already, another account's, or this browser's (logging out is for that)."""
    current = request.session.session_key
    with transaction.atomic():
        keys = _live(user).values_list("session_key", flat=True)
        key = next((k for k in keys if session_id(k) == id and k != current), None)
        # One DELETE of the account's row: two ends at once, one of them deletes it.
        if key is None or not UserSession.objects.filter(session_key=key, user=user).delete()[0]:
            raise SessionGone
        record(type=SecurityEvent.Type.SESSION_ENDED, subject=user, request=request)


def end_others(*, request: HttpRequest, user: User) -> int:
    """Log the account out everywhere but in this browser; record it. Returns how many."""
    with transaction.atomic():
        ended = end_other_sessions(user, keep=request.session.session_key)
        record(
            type=SecurityEvent.Type.OTHER_SESSIONS_ENDED,
            subject=user,
            request=request,
            sessions=ended,
        )
    return ended
