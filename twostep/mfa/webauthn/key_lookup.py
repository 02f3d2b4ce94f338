"""The passwordless check's one read: the key a credential ID names, its active account
with the relations that come with a user (twostep.accounts.user_relations), and whether
the client's address must wait (passkey_throttle), in one SELECT.

Hand-written for the reason the session loader is (twostep.accounts.session_engine): on
the check's path the ORM spends longer compiling this query than the database spends
answering it. Tables, columns and value conversions come from the models, so it follows
their fields.
"""

from datetime import datetime
from functools import cache

from django.db import connections, router

from twostep.accounts.models import LoginThrottle, User
from twostep.accounts.user_rows import UserRows

from ..models import SecurityKey


class _KeyLoader:
    def __init__(self, alias: str):
        self.alias = alias
        self.users = UserRows(alias, first=((SecurityKey, "k"),))
        qn = connections[alias].ops.quote_name
        key_user = qn(SecurityKey._meta.get_field("user").column)
        throttle = qn(LoginThrottle._meta.db_table)
        # Names come from the models and are quoted; every value is a parameter.
        self.sql = (
            f"SELECT {self.users.columns}, EXISTS (SELECT 1 FROM {throttle} t"  # noqa: S608
            f" WHERE t.{qn('key')} = %s AND t.{qn('next_try_at')} > %s)"
            f" FROM {qn(SecurityKey._meta.db_table)} k"
            f" JOIN {qn(User._meta.db_table)} u ON {self.users.user_id} = k.{key_user}"
            f"{self.users.joins}"
            f" WHERE k.{qn('credential_id')} = %s AND u.{qn('is_active')} = %s"
        )

    def fetch(
        self, credential_id: str, *, address_key: str | None, now: datetime
    ) -> tuple[SecurityKey, bool] | None:
        """(the key with its user and the user's relations cached, whether the address
        must wait), or None when no active account has that credential."""
        connection = connections[self.alias]
        stamp = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [address_key, stamp, credential_id, True])
            row = cursor.fetchone()
        if row is None:
            return None
        [key], user = self.users.read(row, 0)
        assert isinstance(key, SecurityKey) and isinstance(user, User)  # joined, not left
        SecurityKey._meta.get_field("user").set_cached_value(key, user)
        return key, bool(row[self.users.width])


@cache
def _loader(alias: str) -> _KeyLoader:
    return _KeyLoader(alias)


def passkey_and_account(
    credential_id: str, *, address_key: str | None, now: datetime
) -> tuple[SecurityKey, bool] | None:
    """See the module's docstring."""
    return _loader(router.db_for_read(SecurityKey)).fetch(
        credential_id, address_key=address_key, now=now
    )
