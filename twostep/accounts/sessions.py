"""Session engine: Django's database sessions, stored with the user they belong to.

Two things beyond Django's: the row carries `user_id`, so all of an account's sessions can
be ended at once; and loading a session fetches its user and their authenticator in the
same query, so an authenticated page costs one database round trip
(see twostep.accounts.middleware).
"""

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone
from django.utils.crypto import get_random_string

if TYPE_CHECKING:
    from .models import UserSession


class SessionStore(DatabaseSessionStore):
    loaded_user: Any = None

    @classmethod
    def get_model_class(cls):
        from .models import UserSession

        return UserSession

    def create_model_instance(self, data):
        session = cast("UserSession", super().create_model_instance(data))
        user_id = data.get(SESSION_KEY)
        session.user_id = int(user_id) if user_id else None
        return session

    def _get_session_from_db(self):
        from .models import UserSession

        session = (
            UserSession.objects.select_related("user__totp_device")
            .filter(session_key=self.session_key, expire_date__gt=timezone.now())
            .first()
        )
        if session is None:
            self._session_key = None
            return None
        self.loaded_user = session.user
        return session

    def _get_new_session_key(self) -> str:
        # 190 random bits: no lookup for a collision first. save(must_create=True) inserts
        # and create() retries on the unique-key error, so a clash still cannot reuse a row.
        return get_random_string(32, VALID_KEY_CHARS)

    def cycle_key(self) -> None:
        """A new key for the same data (against session fixation), written once at the end
        of the request instead of immediately and then again."""
        data = self._session  # type: ignore[attr-defined]  # Django's loading property
        old_key = self.session_key
        self._session_key = None
        self._session_cache = data
        self.modified = True
        self.loaded_user = None
        if old_key:
            self.delete(old_key)

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key:
            self.model.objects.filter(session_key=key).delete()


def end_all_sessions(user) -> int:
    """Log the account out everywhere. Returns how many sessions were ended."""
    from .models import UserSession

    deleted, _ = UserSession.objects.filter(user=user).delete()
    return deleted
