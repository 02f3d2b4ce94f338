"""The replay race with real processes: several app workers receive the same code at once.

Each round forks N processes that meet at a barrier and then judge the same code through
their own database connection, as gunicorn workers behind a load balancer would. Time is
moved with time-machine *before* forking; the children inherit the patched clock, which
every child reports back and the test checks.

Processes, not the thread harness of tests/concurrency.py: threads share one interpreter
and one patched clock object, so they cannot show that each worker process judges with its
own clock, own module state and own connection, as the production race does.
"""

import multiprocessing
import os
import queue
import traceback
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone

from tests.helpers import code_for, enable_2fa
from tests.mfa.conftest import emails, events, reload, throttle_of, wrong_code
from twostep.audit.models import SecurityEvent
from twostep.mfa import totp, verification
from twostep.mfa.models import FREE_FAILURES, TOTPDevice

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 8
ROUNDS = 30
TIMEOUT = 60  # seconds; only reached when something hangs
FORK = multiprocessing.get_context("fork")


def judge(barrier, results, device_pk: int, code: str, preload: bool) -> None:
    """A child: meet the others at the barrier, then verify `code` once and report."""
    try:
        connections.close_all()  # never reuse the parent's connection
        device = TOTPDevice.objects.get(pk=device_pk) if preload else None
        barrier.wait(timeout=TIMEOUT)
        if device is None:
            device = TOTPDevice.objects.get(pk=device_pk)
        check = verification.verify_code(device=device, code=code, request=None, purpose="login")
        results.put(
            {
                "pid": os.getpid(),
                "accepted": check.accepted,
                "reason": check.reason,
                "clock": timezone.now().timestamp(),
            }
        )
    except BaseException:
        results.put({"pid": os.getpid(), "error": traceback.format_exc()})
    finally:
        connections.close_all()


def race(device: TOTPDevice, code: str, *, preload: bool = False) -> list[dict[str, Any]]:
    """Fork WORKERS children submitting `code` at once; their reports, errors included."""
    connections.close_all()  # a forked child must not inherit an open connection
    barrier, results = FORK.Barrier(WORKERS), FORK.Queue()
    children = [
        FORK.Process(target=judge, args=(barrier, results, device.pk, code, preload))
        for _ in range(WORKERS)
    ]
    for child in children:
        child.start()
    reports = []
    try:
        for _ in children:
            reports.append(results.get(timeout=TIMEOUT))
    except queue.Empty:
        reports.append({"pid": None, "error": "a child neither reported nor failed"})
    for child in children:
        child.join(timeout=TIMEOUT)
        if child.is_alive():
            child.kill()
            child.join()
    errors = [r["error"] for r in reports if "error" in r]
    assert not errors, "\n".join(errors)
    assert [child.exitcode for child in children] == [0] * WORKERS
    assert len({r["pid"] for r in reports}) == WORKERS
    return reports


def test_same_code_from_eight_processes_at_once_is_accepted_exactly_once(make_user, frozen):
    user = make_user()
    device = enable_2fa(user)
    for round_ in range(ROUNDS):
        frozen.shift(totp.PERIOD)  # a new step, so a new code, each round
        now = timezone.now().timestamp()
        reports = race(device, code_for())
        assert {r["clock"] for r in reports} == {now}, "children did not inherit the clock"
        verdicts = sorted((r["accepted"], r["reason"]) for r in reports)
        assert verdicts == [(False, "reused")] * (WORKERS - 1) + [(True, "")], round_
        assert reload(device).last_used_step == totp.time_step(now)

    fresh = throttle_of(device)
    assert (fresh.failure_count, fresh.next_try_at) == (0, None)
    assert len(events(user, SecurityEvent.Type.CODE_REUSE)) == ROUNDS * (WORKERS - 1)
    assert not events(user, SecurityEvent.Type.CODE_FAILED)


def test_wrong_codes_from_eight_processes_at_once_get_only_the_free_tries(make_user, frozen):
    user = make_user()
    device = enable_2fa(user)
    # Every child has read the device before the barrier: all arrive "at the same moment",
    # before any of them has raised the throttle. The count and the decision being one
    # statement, the free tries are judged and the rest wait, as sequential tries would.
    reports = race(device, wrong_code(), preload=True)
    assert sorted(r["reason"] for r in reports) == sorted(
        ["wrong"] * FREE_FAILURES + ["throttled"] * (WORKERS - FREE_FAILURES)
    )
    assert throttle_of(device).failure_count == FREE_FAILURES
    assert throttle_of(device).next_try_at > timezone.now()
    # Each failure has its own number: none lost, none counted twice.
    failed = events(user, SecurityEvent.Type.CODE_FAILED)
    assert sorted(e.details["consecutive"] for e in failed) == list(range(1, FREE_FAILURES + 1))
    assert len(emails(user, "Someone may know your password")) == 1
    assert WORKERS > FREE_FAILURES
