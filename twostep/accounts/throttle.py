"""The password throttle's table (LoginThrottle): consecutive failures per key, counted and
cleared atomically. Accounts owns the table because both floors that write it sit here or
above: the password step (twostep.login.password) decides which keys an attempt counts
against and how many free tries each gets, and calls these functions; a password change
(services) clears the account's key; device cookies (devices) keep their rows here too.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from twostep.backoff import backoff_delay

from .models import LoginThrottle, normalize_email

# Failures older than this are forgotten. Without it an IP's count (which no success
# resets) only grows, and an office behind one address ends up locked out by typos.
FORGET_FAILURES_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class ThrottleKey:
    key: str
    free: int
    cap: timedelta
    # Counted before the password is checked (under the row lock) and cleared by a success;
    # the other keys are counted after a failure and never cleared.
    reserved: bool = False
    trusted_device: bool = False


class DeviceForgotten(Exception):
    """The trusted browser's row was gone once locked: forgotten (a password reset, the
    oldest beyond the cap) after the cookie was checked. Its row is what makes a browser
    trusted, so it must never be created again here."""


def account_key(email: str) -> str:
    return f"account:{normalize_email(email)}"[:200]


def clear_account(email: str) -> None:
    """Forget the account's consecutive password failures (its password changed: whoever
    pushed it into its back-off guessed a password that no longer exists)."""
    LoginThrottle.objects.filter(key=account_key(email)).delete()


def reserve_attempt(keys: list[ThrottleKey], *, now: datetime) -> timedelta | None:
    """How long the attempt must still wait, or None after counting it against the
    reserved keys before the password is checked (`clear_reserved` takes it back).
    Raises DeviceForgotten when the first key is a trusted device whose row is gone.

    Check and count happen under the rows' locks (taken in key order, so two attempts never
    wait for each other's), so a burst of parallel guesses cannot all pass a check that none
    of them has counted against yet: it gets the free tries and then the back-off, as
    sequential guesses do.
    """
    with transaction.atomic():
        locked = LoginThrottle.objects.select_for_update().filter(key__in=[k.key for k in keys])
        rows = {t.key: t for t in locked.order_by("key")}
        if keys[0].trusted_device and keys[0].key not in rows:
            raise DeviceForgotten
        # A key missing from `rows` has no row: create it, no second look (_first_failure).
        reserved = [(k, rows.get(k.key) or _first_failure(k, now=now)) for k in keys if k.reserved]
        waits = [
            t.next_try_at - now
            for t in (*rows.values(), *(row for _, row in reserved))
            if t and t.next_try_at and t.next_try_at > now
        ]
        if waits:
            return max(waits)
        for key, row in reserved:
            if row is not None:
                _increment(row, key, now=now)
    return None


def count_failure(keys: list[ThrottleKey], *, now: datetime) -> None:
    """One more consecutive failure for each key not reserved in advance. Call inside a
    transaction (the caller records the refusal in the same one)."""
    for key in keys:
        if not key.reserved:  # the reserved ones were counted in advance
            row = _locked_row(key, now=now)
            if row is not None:
                _increment(row, key, now=now)


def clear_reserved(keys: list[ThrottleKey], *, now: datetime) -> None:
    """A success clears the failures of the reserved keys, the one counted for it included."""
    reserved = [key.key for key in keys if key.reserved]
    if keys[0].trusted_device:  # its row stays: the row is what makes the device trusted
        LoginThrottle.objects.filter(key__in=reserved).update(
            failure_count=0, next_try_at=None, updated_at=now
        )
    else:  # no row, as for an address never tried: a row must not tell a known account
        LoginThrottle.objects.filter(key__in=reserved).delete()


def _locked_row(key: ThrottleKey, *, now: datetime) -> LoginThrottle | None:
    """The key's row, locked; or None after creating it with its first failure counted."""
    row = LoginThrottle.objects.select_for_update().filter(key=key.key).first()
    if row is not None:
        return row
    return _first_failure(key, now=now)


def _first_failure(key: ThrottleKey, *, now: datetime) -> LoginThrottle | None:
    """Create the key's row with its first failure counted (None), or, when a concurrent
    attempt created it meanwhile, return that row locked."""
    try:
        with transaction.atomic():
            LoginThrottle.objects.create(key=key.key, failure_count=1, updated_at=now)
        return None
    except IntegrityError:  # a concurrent first failure created it: wait for its lock
        return LoginThrottle.objects.select_for_update().get(key=key.key)


def _increment(row: LoginThrottle, key: ThrottleKey, *, now: datetime) -> None:
    forgotten = row.updated_at < now - FORGET_FAILURES_AFTER
    row.failure_count = 1 if forgotten else row.failure_count + 1
    delay = backoff_delay(row.failure_count, free=key.free, cap=key.cap)
    row.next_try_at = now + delay if delay else None
    row.updated_at = now
    row.save(update_fields=["failure_count", "next_try_at", "updated_at"])
