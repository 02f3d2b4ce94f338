"""Session engine: Django's database sessions, stored with the user they belong to.

The row carries `user_id`, so all of an account's sessions can be listed and ended at once,
and the browser it was made for (address, User-Agent, start, last seen: session_activity).
This is Django's own database session logic otherwise; the one-query fast path built on it
lives in twostep.accounts.session_engine (on unless TWOSTEP_FAST_SESSIONS=0).
"""

from datetime import datetime
from typing import cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import router
from django.utils import timezone

from .models import User, UserSession


class SessionStore(DatabaseSessionStore):
    # The browser of the request (session_activity.SessionActivityMiddleware sets them):
    # written into a new row only.
    client_ip: str | None = None
    client_agent: str = ""
    # The row this store loaded and when it was last seen: session_activity.touch reads them.
    loaded_key: str | None = None
    last_seen_at: datetime | None = None

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def load(self) -> dict:
        """Django's load(), remembering which row it read and when it was last seen."""
        row = self._get_session_from_db()  # type: ignore[attr-defined]
        if not row:
            return {}
        self.loaded_key, self.last_seen_at = self.session_key, getattr(row, "last_seen_at", None)
        return self.decode(row.session_data)

    def create_model_instance(self, data) -> UserSession:
        session = cast(UserSession, super().create_model_instance(data))
        user_id = data.get(SESSION_KEY)
        session.user_id = int(user_id) if user_id else None
        session.created_at = session.last_seen_at = timezone.now()
        session.ip, session.user_agent = self.client_ip, self.client_agent
        return session

    def save(self, must_create: bool = False) -> None:
        """Django's save(); an existing row gets only its data, expiry and user (one UPDATE,
        as Django's), so where and when it started stay as written."""
        if must_create or self.session_key is None:
            return super().save(must_create=must_create)
        data = self._get_session()  # type: ignore[attr-defined]  # Django's loading method
        row = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=row)
        updated = (
            self.model.objects.using(using)
            .filter(session_key=row.session_key)
            .update(session_data=row.session_data, expire_date=row.expire_date, user_id=row.user_id)
        )
        if not updated:  # ended meanwhile (elsewhere, or by its owner): never brought back
            raise UpdateError


def end_other_sessions(user: User, *, keep: str | None) -> int:
    """Log the account out everywhere but in the session `keep`."""
    deleted, _ = UserSession.objects.filter(user=user).exclude(session_key=keep or "").delete()
    return deleted


def end_all_sessions(user: User) -> int:
    """Log the account out everywhere. Returns how many sessions were ended."""
    deleted, _ = UserSession.objects.filter(user=user).delete()
    return deleted
