"""The session fast path: an authenticated page costs one database statement.

Loading a session fetches the session row, its user and the user's authenticator (the
relations registered in twostep.accounts.user_relations) in one SELECT (1,035 -> 470 µs
per page in the bench), and the user is handed to auth so it is not fetched again. On
unless TWOSTEP_FAST_SESSIONS=0 (settings.py), which falls back to twostep.accounts.sessions
(Django's database sessions) and Django's AuthenticationMiddleware.

Private Django names relied on (tests/accounts/test_session_engine.py fails if they change):

- `db.SessionStore._get_session_from_db()`: overridden to run our one SELECT; Django's
  `load()` calls it and reads `.session_data` from what it returns, or None if no session.
- `SessionBase._get_new_session_key()`: overridden to skip Django's "does this key exist"
  query (190 random bits; `create()` still retries on a unique-key clash).
- `SessionBase._session` (the loading property), `_session_key` (a validating property,
  set to None when no row is found), `_session_cache`:
  written by `cycle_key` so the new key is saved once at the end of the request, instead
  of Django's save-now-then-save-again.
- `request._cached_user`: where Django's middleware keeps the lazily fetched user; our
  `get_user` fills it as `django.contrib.auth.middleware.get_user` does.
- `auth.get_user(request)` calling `backend.get_user(user_id)` with the id from the
  session: `PreloadedUserBackend.get_user` answers it from the preloaded user.
"""

from contextvars import ContextVar
from functools import cache
from types import SimpleNamespace
from typing import Any

from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthentication
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.db import connections, router
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.utils.functional import SimpleLazyObject

from .models import User, UserSession
from .sessions import SessionStore as UserSessionStore
from .user_rows import UserRows

# The user fetched together with the session row, offered to get_user() for one request.
preloaded_user: ContextVar[User | None] = ContextVar("preloaded_user", default=None)


class SessionStore(UserSessionStore):
    """The session store of the fast path: the session's user comes with the session."""

    loaded_user: User | None = None

    def _get_session_from_db(self):
        found = _session_loader(router.db_for_read(self.model)).fetch(self.session_key)
        if found is None:
            self._session_key = None
            return None
        session_data, last_seen_at, self.loaded_user = found
        return SimpleNamespace(session_data=session_data, last_seen_at=last_seen_at)

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
        """One DELETE, where Django selects the row first."""
        key = session_key or self.session_key
        if key:
            self.model.objects.filter(session_key=key).delete()


class _SessionLoader:
    """The session row, its user and the relations registered to come with the user (the
    authenticator: twostep.accounts.user_relations) in one SELECT.

    Hand-written because it runs on every request: the same query through the ORM spends
    longer compiling itself than the database spends answering it. Tables, columns and value
    conversions still come from the models, so it follows their fields.
    """

    def __init__(self, alias: str):
        self.alias = alias
        self.users = UserRows(alias)
        connection = connections[alias]
        qn = connection.ops.quote_name
        # When the session was last seen (session_activity), read with it: no second query.
        self.seen = UserSession._meta.get_field("last_seen_at").get_col("s")
        self.seen_converters = connection.ops.get_db_converters(
            self.seen
        ) + self.seen.get_db_converters(connection)
        # Names come from the models and are quoted; the key and the time are parameters.
        self.sql = (
            f"SELECT s.{qn('session_data')}, s.{qn(self.seen.target.column)}, {self.users.columns}"  # noqa: S608
            f" FROM {qn(UserSession._meta.db_table)} s"
            f" LEFT JOIN {qn(User._meta.db_table)} u ON {self.users.user_id} = s.{qn('user_id')}"
            f"{self.users.joins}"
            f" WHERE s.{qn('session_key')} = %s AND s.{qn('expire_date')} > %s"
        )

    def fetch(self, session_key: str | None) -> tuple[str, Any, User | None] | None:
        """(session data, when it was last seen, user with its registered relations cached,
        or None), or None if there is no such session."""
        connection = connections[self.alias]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [session_key, now])
            row = cursor.fetchone()
        if row is None:
            return None
        last_seen_at = row[1]
        for convert in self.seen_converters:
            last_seen_at = convert(last_seen_at, self.seen, connection)
        _, user = self.users.read(row, 2)
        return row[0], last_seen_at, user


@cache
def _session_loader(alias: str) -> _SessionLoader:
    return _SessionLoader(alias)


class PreloadedUserBackend:
    """Auth backend mixin: the session's user is the one loaded with the session, if any.
    Without a preloaded user (fast path off, or another store) it is the backend's own."""

    def get_user(self, user_id: int) -> User | None:
        user = preloaded_user.get()
        if user is not None and user.pk == user_id:
            return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]
        return super().get_user(user_id)  # type: ignore[misc]


def get_user(request):
    """Django's auth.get_user (session hash check included), fed the user that the session
    store loaded in the same query as the session."""
    if not hasattr(request, "_cached_user"):
        session = request.session
        session.get(auth.SESSION_KEY)  # loads the session row, its user and their relations
        token = preloaded_user.set(getattr(session, "loaded_user", None))
        try:
            request._cached_user = auth.get_user(request)
        finally:
            preloaded_user.reset(token)
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthentication):
    """Django's, with request.user from get_user above."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))
