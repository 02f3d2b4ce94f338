"""One failing item must not stall the worker's recovery pass.

Each received request and each due reset is tried on its own. A failure is logged by the
error's type only (never its text, which may quote a claim's words or a token), counted on
the item, and after MAX_ATTEMPTS failures the item is parked where support sees it. A lost
database is not the item's fault: an InterfaceError, or an OperationalError after which
the connection no longer works, ends the pass, to be retried whole. Any other
OperationalError (a statement or lock timeout, a deadlock, SQLite's "database is locked")
is the item's failure like any error.
"""

import logging
from collections.abc import Callable, Iterable

from django.db import InterfaceError, OperationalError, connection

MAX_ATTEMPTS = 3
logger = logging.getLogger("twostep.recovery")


def each(
    pks: Iterable[int], act: Callable[[int], bool], *, failed: Callable[[int], None], what: str
) -> int:
    """act(pk) for each pk, failed(pk) when it raised; returns how many acts returned True."""
    done = 0
    for pk in pks:
        try:
            done += bool(act(pk))
        except InterfaceError:
            raise
        except Exception as error:  # noqa: BLE001 - one bad item must not stall the rest
            if isinstance(error, OperationalError) and not connection_usable():
                raise
            logger.error("%s #%s failed: %s", what, pk, type(error).__name__)
            failed(pk)
    return done


def connection_usable() -> bool:
    """Whether the default database connection is open and answers."""
    return connection.connection is not None and connection.is_usable()
