"""A user and the relations registered to come with it (twostep.accounts.user_relations),
read inside a hand-written SELECT: its columns, its joins, and the model instances made
back from a row.

Hand-written SELECTs are kept to the paths where the ORM spends longer compiling the query
than the database spends answering it (the session load, the passwordless check). Tables,
columns and value conversions still come from the models, so they follow their fields.
"""

from typing import Any

from django.db import connections
from django.db.models import Model

from .models import User
from .user_relations import loaded_with_user


class UserRows:
    """The user as table alias `u`, each registered relation LEFT JOINed to it, after the
    models of `first` (e.g. `[(SecurityKey, "k")]`), whose columns come before the user's."""

    def __init__(self, alias: str, *, first: tuple[tuple[type[Model], str], ...] = ()):
        self.alias = alias
        # Reverse one-to-one relations of User (e.g. "mfa_state"), with their models.
        self.relations: list[Any] = [User._meta.get_field(n) for n in loaded_with_user()]
        connection = connections[alias]
        qn = connection.ops.quote_name
        joined = [(rel.related_model, f"r{i}") for i, rel in enumerate(self.relations)]
        self.parts = [
            (model, [field.get_col(table) for field in model._meta.concrete_fields])
            for model, table in (*first, (User, "u"), *joined)
        ]
        self.columns = ", ".join(
            f"{col.alias}.{qn(col.target.column)}" for _, cols in self.parts for col in cols
        )
        self.user_id = f"u.{qn(User._meta.pk.column)}"
        self.joins = "".join(
            f" LEFT JOIN {qn(model._meta.db_table)} {table}"
            f" ON {table}.{qn(rel.field.column)} = {self.user_id}"
            for rel, (model, table) in zip(self.relations, joined, strict=True)
        )
        # Per model: its field names, and only the columns that have converters (most have
        # none), so reading a row loops over no more than it must: it runs on every page.
        self.names = [[col.target.attname for col in cols] for _, cols in self.parts]
        self.converters = [
            [
                (i, col, convs)
                for i, col in enumerate(cols)
                if (
                    convs := connection.ops.get_db_converters(col)
                    + col.get_db_converters(connection)
                )
            ]
            for _, cols in self.parts
        ]
        self.width = sum(len(cols) for _, cols in self.parts)
        self.first = len(first)

    def read(self, row: tuple[Any, ...], start: int) -> tuple[list[Model | None], User | None]:
        """From `row[start:]`: the instances of `first` (None where a LEFT JOIN found none)
        and the user, its registered relations cached on it ("none" included: no second
        query, with or without the related row) and it on them."""
        connection = connections[self.alias]
        values: list[Any] = []
        for (model, cols), names, converters in zip(
            self.parts, self.names, self.converters, strict=True
        ):
            chunk = list(row[start : start + len(cols)])
            start += len(cols)
            for i, col, convs in converters:
                for convert in convs:
                    chunk[i] = convert(chunk[i], col, connection)
            values.append(model.from_db(self.alias, names, chunk) if chunk[0] is not None else None)
        user = values[self.first]
        related = values[self.first + 1 :]
        if user is not None:
            for relation, obj in zip(self.relations, related, strict=True):
                relation.set_cached_value(user, obj)
                if obj is not None:  # and back: judging a code reaches the user from it
                    relation.field.set_cached_value(obj, user)
        return values[: self.first], user
