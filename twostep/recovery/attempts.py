"""One failing item must not stall the worker's recovery pass.

Each received request and each due reset is tried on its own. A failure is logged by the
error's type only (never its text, which may quote a claim's words or a token), counted on
the item, and after MAX_ATTEMPTS failures the item is parked where support sees it. A lost
database is not the item's fault: that error ends the pass, to be retried whole.
"""

import logging
from collections.abc import Callable, Iterable

from django.db import InterfaceError, OperationalError

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
        except (OperationalError, InterfaceError):
            raise
        except Exception as error:  # noqa: BLE001 - one bad item must not stall the rest
            logger.error("%s #%s failed: %s", what, pk, type(error).__name__)
            failed(pk)
    return done
