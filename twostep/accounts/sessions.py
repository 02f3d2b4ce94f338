"""Session engine: Django's database sessions, stored with the user they belong to.

The row carries `user_id`, so all of an account's sessions can be ended at once. This is
Django's own database session logic otherwise; the one-query fast path built on it lives
in twostep.accounts.session_engine (on unless TWOSTEP_FAST_SESSIONS=0).
"""

from typing import cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from .models import User, UserSession


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data) -> UserSession:
        session = cast(UserSession, super().create_model_instance(data))
        user_id = data.get(SESSION_KEY)
        session.user_id = int(user_id) if user_id else None
        return session


def end_other_sessions(user: User, *, keep: str | None) -> int:
    """Log the account out everywhere but in the session `keep`."""
    deleted, _ = UserSession.objects.filter(user=user).exclude(session_key=keep or "").delete()
    return deleted


def end_all_sessions(user: User) -> int:
    """Log the account out everywhere. Returns how many sessions were ended."""
    deleted, _ = UserSession.objects.filter(user=user).delete()
    return deleted
