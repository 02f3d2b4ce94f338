"""The one back-off policy shared by every throttle (password step and code step)."""

import math
from datetime import timedelta

from django.utils.translation import ngettext


def backoff_delay(failures: int, *, free: int, cap: timedelta) -> timedelta:
    """Wait before the next try after `failures` consecutive failures.

    The first `free` failures cost nothing; each one after doubles the wait from one
    second, up to `cap`.
    """
    if failures < free:
        return timedelta(0)
    exponent = min(failures - free, 32)
    return min(timedelta(seconds=2**exponent), cap)


def wait_duration(seconds: float) -> str:
    """How long a refused person must wait, for a message: "5 seconds", "3 minutes".

    Seconds are rounded up; from 90 seconds on the wait is told in whole minutes.
    """
    wait = math.ceil(seconds)
    if wait < 90:
        return ngettext("%(count)d second", "%(count)d seconds", wait) % {"count": wait}
    minutes = math.ceil(wait / 60)
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
