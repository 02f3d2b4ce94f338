"""The one back-off policy shared by every throttle (password step and code step)."""

from datetime import timedelta


def backoff_delay(failures: int, *, free: int, cap: timedelta) -> timedelta:
    """Wait before the next try after `failures` consecutive failures.

    The first `free` failures cost nothing; each one after doubles the wait from one
    second, up to `cap`.
    """
    if failures < free:
        return timedelta(0)
    exponent = min(failures - free, 32)
    return min(timedelta(seconds=2**exponent), cap)
