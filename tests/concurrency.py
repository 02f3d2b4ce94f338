"""Calls racing each other in threads, each with its own database connection, as app
processes and workers would. (tests/mfa/test_concurrency.py forks real processes instead,
for the one race whose clock must be inherited; see its docstring.)"""

import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from django.db import connection

TIMEOUT = 30  # seconds; only reached when something hangs


class Outcome(NamedTuple):
    results: list[Any]  # what each call returned, in the order of the calls (None if it raised)
    errors: list[BaseException]  # what the calls raised, in the order they raised it


def at_once(*calls: Callable[[], object]) -> Outcome:
    """Run each call in its own thread (and connection, closed after), all released together
    by a barrier; what they returned and raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=TIMEOUT)
            results[index] = call()
        except BaseException as error:  # reported to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)
    return Outcome(results, errors)
