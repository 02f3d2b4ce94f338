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
from typing import Any

from django.db import connections, router

from twostep.accounts.models import LoginThrottle, User
from twostep.accounts.user_relations import loaded_with_user

from ..models import SecurityKey


class _KeyLoader:
    def __init__(self, alias: str):
        self.alias = alias
        self.relations: list[Any] = [User._meta.get_field(n) for n in loaded_with_user()]
        connection = connections[alias]
        qn = connection.ops.quote_name
        joined = [(rel.related_model, f"r{i}") for i, rel in enumerate(self.relations)]
        self.parts = [
            (model, [field.get_col(table) for field in model._meta.concrete_fields])
            for model, table in ((SecurityKey, "k"), (User, "u"), *joined)
        ]
        columns = ", ".join(
            f"{col.alias}.{qn(col.target.column)}" for _, cols in self.parts for col in cols
        )
        user_id = f"u.{qn(User._meta.pk.column)}"
        joins = "".join(
            f" LEFT JOIN {qn(model._meta.db_table)} {table}"
            f" ON {table}.{qn(rel.field.column)} = {user_id}"
            for rel, (model, table) in zip(self.relations, joined, strict=True)
        )
        key_user = qn(SecurityKey._meta.get_field("user").column)
        # Names come from the models and are quoted; every value is a parameter.
        self.sql = (
            f"SELECT {columns}, EXISTS (SELECT 1 FROM {qn(LoginThrottle._meta.db_table)} t"  # noqa: S608
            f" WHERE t.{qn('key')} = %s AND t.{qn('next_try_at')} > %s)"
            f" FROM {qn(SecurityKey._meta.db_table)} k"
            f" JOIN {qn(User._meta.db_table)} u ON {user_id} = k.{key_user}"
            f"{joins}"
            f" WHERE k.{qn('credential_id')} = %s AND u.{qn('is_active')} = %s"
        )
        self.converters = [
            [
                (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
                for col in cols
            ]
            for _, cols in self.parts
        ]

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
        values, start = [], 0
        for (model, cols), converters in zip(self.parts, self.converters, strict=True):
            chunk = list(row[start : start + len(cols)])
            start += len(cols)
            for i, (col, convs) in enumerate(converters):
                for convert in convs:
                    chunk[i] = convert(chunk[i], col, connection)
            names = [col.target.attname for col in cols]
            values.append(model.from_db(self.alias, names, chunk) if chunk[0] is not None else None)
        key, user, *related = values
        assert isinstance(key, SecurityKey) and isinstance(user, User)  # joined, not left
        for relation, obj in zip(self.relations, related, strict=True):
            relation.set_cached_value(user, obj)  # "none" cached too: no second query
            if obj is not None:
                relation.field.set_cached_value(obj, user)
        SecurityKey._meta.get_field("user").set_cached_value(key, user)
        return key, bool(row[start])


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
