"""Session engine: Django's database sessions, stored with the user they belong to.

Two things beyond Django's: the row carries `user_id`, so all of an account's sessions can
be ended at once; and loading a session fetches its user and their authenticator in the
same query, so an authenticated page costs one database round trip
(see twostep.accounts.middleware).
"""

from functools import cache
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
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
        found = _session_loader(router.db_for_read(self.model)).fetch(self.session_key)
        if found is None:
            self._session_key = None
            return None
        session_data, self.loaded_user = found
        return SimpleNamespace(session_data=session_data)

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


class _SessionLoader:
    """The session row, its user and the user's authenticator in one SELECT.

    Hand-written because it runs on every request: the same query through the ORM spends
    longer compiling itself than the database spends answering it. Columns and value
    conversions still come from the models, so it follows their fields.
    """

    def __init__(self, alias: str):
        from twostep.mfa.models import TOTPDevice

        from .models import User, UserSession

        self.alias = alias
        self.device_relation: Any = User._meta.get_field("totp_device")
        self.device_user: Any = TOTPDevice._meta.get_field("user")
        connection = connections[alias]
        qn = connection.ops.quote_name
        session, user, device = (qn(m._meta.db_table) for m in (UserSession, User, TOTPDevice))
        self.parts = [
            (model, [field.get_col(table) for field in model._meta.concrete_fields])
            for model, table in ((User, "u"), (TOTPDevice, "d"))
        ]
        columns = ", ".join(
            f"{col.alias}.{qn(col.target.column)}" for _, cols in self.parts for col in cols
        )
        # Names come from the models and are quoted; the key and the time are parameters.
        self.sql = (
            f"SELECT s.{qn('session_data')}, {columns}"  # noqa: S608
            f" FROM {session} s"
            f" LEFT JOIN {user} u ON u.{qn('id')} = s.{qn('user_id')}"
            f" LEFT JOIN {device} d ON d.{qn('user_id')} = u.{qn('id')}"
            f" WHERE s.{qn('session_key')} = %s AND s.{qn('expire_date')} > %s"
        )
        self.converters = [
            [
                (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
                for col in cols
            ]
            for _, cols in self.parts
        ]

    def fetch(self, session_key: str | None) -> tuple[str, Any] | None:
        """(session data, user with .totp_device cached, or None), or None if no session."""
        connection = connections[self.alias]
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [session_key, now])
            row = cursor.fetchone()
        if row is None:
            return None
        values, start = [], 1
        for (model, cols), converters in zip(self.parts, self.converters, strict=True):
            chunk = list(row[start : start + len(cols)])
            start += len(cols)
            for i, (col, convs) in enumerate(converters):
                for convert in convs:
                    chunk[i] = convert(chunk[i], col, connection)
            names = [col.target.attname for col in cols]
            values.append(model.from_db(self.alias, names, chunk) if chunk[0] is not None else None)
        user, device = values
        if user is not None:
            # Cached, "none" included (assigning None would clear the cache instead): the
            # 2FA state costs no second query, with or without an authenticator.
            self.device_relation.set_cached_value(user, device)
            if device is not None:  # and back: judging a code reaches the user from it
                self.device_user.set_cached_value(device, user)
        return row[0], user


@cache
def _session_loader(alias: str) -> _SessionLoader:
    return _SessionLoader(alias)


def end_other_sessions(user, *, keep: str | None) -> int:
    """Log the account out everywhere but in the session `keep`."""
    from .models import UserSession

    deleted, _ = UserSession.objects.filter(user=user).exclude(session_key=keep or "").delete()
    return deleted


def end_all_sessions(user) -> int:
    """Log the account out everywhere. Returns how many sessions were ended."""
    from .models import UserSession

    deleted, _ = UserSession.objects.filter(user=user).delete()
    return deleted
