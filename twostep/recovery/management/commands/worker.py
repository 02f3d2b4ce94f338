"""Background work: deliver queued email and carry out approved 2FA resets when due.

A pass has two stages, recovery (received requests, then due resets) and mail delivery,
each in its own try: a stage that fails does not hold back the other, so one request that
always raises cannot stop every email. With --loop the worker outlives its faults. Each
pass starts with close_old_connections(), so a connection the database dropped is
replaced; a failed stage is logged (its type and first line: never a body, a link or a
secret) and closes every connection; after a pass with a failed stage the next one waits
`backoff_delay()`, doubling up to MAX_BACKOFF seconds, until a pass succeeds. Each pass
without a failed stage writes the worker's heartbeat (see twostep.mail.liveness).

A pass is bounded: mail delivery ends, between two messages, once the pass has run for
`--budget` seconds (default PASS_BUDGET) and the next pass goes on where it stopped, so the
heartbeat is written at least that often however long the backlog. SIGTERM and SIGINT end
the pass after the message being sent (at most one send, bounded by EMAIL_TIMEOUT), which
is recorded: no email is cut off mid-send.
"""

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connections
from django.utils import timezone

from twostep.mail.liveness import record_worker_pass
from twostep.mail.services import deliver_due
from twostep.recovery.resets import perform_due_resets

logger = logging.getLogger("twostep.worker")

MAX_BACKOFF = 60.0
PASS_BUDGET = 30.0  # seconds a pass spends delivering before it ends and the next begins


MIN_BACKOFF = 1.0


def backoff_delay(*, interval: float, failures: int) -> float:
    """Seconds to wait before the next pass after `failures` failed passes in a row: the
    interval doubled per failure, at least MIN_BACKOFF and at most MAX_BACKOFF (the exponent
    is capped, as an outage may last for days of failed passes)."""
    if failures == 0:
        return interval
    return min(max(interval, MIN_BACKOFF) * 2 ** min(failures, 32), MAX_BACKOFF)


def describe(error: BaseException) -> str:
    """The error's type and the first line of its message, at most 200 characters."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


class Command(BaseCommand):
    help = "Background work: deliver queued email and carry out approved 2FA resets when due."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep working until stopped")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between rounds")
        parser.add_argument(
            "--budget", type=float, default=PASS_BUDGET, help="seconds a pass may deliver for"
        )

    def handle(self, *args, loop: bool, interval: float, budget: float, **options):
        if budget <= 0:
            raise CommandError("--budget must be more than 0 seconds.")
        stop = threading.Event()
        if loop:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        host, pid, started_at = socket.gethostname(), os.getpid(), timezone.now()
        failures = 0
        while True:
            if loop:  # a single pass runs on the fresh connection of a new process
                close_old_connections()
            deadline = time.monotonic() + budget
            if self.one_pass(stop=stop, deadline=deadline) and self.stage(
                "heartbeat", lambda: record_worker_pass(host=host, pid=pid, started_at=started_at)
            ):
                failures = 0
                # A pass that used its whole budget left work behind: go on at once.
                delay = 0.0 if time.monotonic() >= deadline else interval
            elif not loop:
                raise CommandError("The pass failed (see the log).")
            else:
                failures += 1
                delay = backoff_delay(interval=interval, failures=failures)
                logger.warning("Next pass in %.1f s", delay)
            if not loop or stop.wait(delay):
                return

    def one_pass(self, *, stop: threading.Event, deadline: float) -> bool:
        """Run every stage, each on its own. False when one failed (the others still ran)."""
        resets = sent = 0

        def recovery() -> None:
            nonlocal resets
            resets = perform_due_resets()

        def mail() -> None:
            nonlocal sent
            sent = deliver_due(stop=stop, deadline=deadline)

        ok = all([self.stage("recovery", recovery), self.stage("mail", mail)])
        if resets or sent:
            self.stdout.write(f"resets done: {resets}, emails sent: {sent}")
        return ok

    def stage(self, name: str, work: Callable[[], object]) -> bool:
        """Run one stage; a failure is logged (type and first line), its connections closed."""
        try:
            work()
        except Exception as error:
            logger.warning("Worker pass failed in the %s stage (%s)", name, describe(error))
            connections.close_all()
            return False
        return True
