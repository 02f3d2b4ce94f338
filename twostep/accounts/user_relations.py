"""Which one-to-one relations of User come with the user wherever it is loaded.

Apps above accounts own tables that hang off the user (mfa: the authenticator) and that
almost every page asks about. They register the reverse relation here (in their
AppConfig.ready()), and accounts loads it with the user without knowing the app: in the
session's one query (session_engine) and at the password step (get_by_natural_key).
"""

from typing import TypeVar

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)
_relations: list[str] = []


def load_with_user(name: str) -> None:
    """Load the reverse one-to-one relation `name` of User together with the user.

    Call from an AppConfig.ready(): the session loader reads the list once per process.
    """
    if name not in _relations:
        _relations.append(name)


def loaded_with_user() -> tuple[str, ...]:
    """The relation names registered with `load_with_user`, in registration order."""
    return tuple(_relations)


def with_relations(users: QuerySet[M]) -> QuerySet[M]:
    """`users` with the registered relations joined in. Not select_related() with no
    names, which would follow every foreign key instead of none."""
    names = loaded_with_user()
    return users.select_related(*names) if names else users
