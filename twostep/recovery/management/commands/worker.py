"""Background work: deliver queued email and carry out approved 2FA resets when due.

With --loop the worker outlives its faults. Each pass starts with close_old_connections(),
so a connection the database dropped is replaced; an error ends the pass, is logged (its
type and first line: never a body, a link or a secret), and closes every connection; the
next pass then waits `backoff_delay()`, doubling up to MAX_BACKOFF seconds, until a pass
succeeds. Each completed pass writes the worker's heartbeat (see twostep.mail.liveness).
SIGTERM and SIGINT let the current pass finish, so no email is cut off mid-send.
"""

import logging
import os
import signal
import socket
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections
from django.utils import timezone

from twostep.mail.liveness import record_worker_pass
from twostep.mail.services import deliver_due
from twostep.recovery.services import perform_due_resets

logger = logging.getLogger("twostep.worker")

MAX_BACKOFF = 60.0


def backoff_delay(*, interval: float, failures: int) -> float:
    """Seconds to wait before the next pass after `failures` failed passes in a row."""
    if failures == 0:
        return interval
    return min(interval * 2**failures, MAX_BACKOFF)


def describe(error: BaseException) -> str:
    """The error's type and the first line of its message, at most 200 characters."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


class Command(BaseCommand):
    help = "Background work: deliver queued email and carry out approved 2FA resets when due."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep working until stopped")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between rounds")

    def handle(self, *args, loop: bool, interval: float, **options):
        stop = threading.Event()
        if loop:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        host, pid, started_at = socket.gethostname(), os.getpid(), timezone.now()
        failures = 0
        while True:
            try:
                if loop:  # a single pass runs on the fresh connection of a new process
                    close_old_connections()
                self.one_pass()
                record_worker_pass(host=host, pid=pid, started_at=started_at)
            except Exception as error:
                if not loop:
                    raise
                failures += 1
                connections.close_all()
                delay = backoff_delay(interval=interval, failures=failures)
                logger.warning("Worker pass failed (%s); next in %.1f s", describe(error), delay)
            else:
                failures = 0
                delay = interval
            if not loop or stop.wait(delay):
                return

    def one_pass(self) -> None:
        resets = perform_due_resets()
        sent = deliver_due()
        if resets or sent:
            self.stdout.write(f"resets done: {resets}, emails sent: {sent}")
