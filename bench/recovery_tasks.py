"""The recovery-code check timed inside twostep's own process (run through
bench/twostep_tasks.py recoverycheck / recoverycode, after django.setup())."""

import random
import statistics
import time

from django.contrib.auth.hashers import check_password, make_password
from django.db import connection, transaction
from django.utils import timezone

from twostep.accounts.models import User
from twostep.mfa import recovery_codes
from twostep.mfa.models import RecoveryCode

WARM_UP = 10


def _email(i: int) -> str:
    return f"bench{i}@example.com"


def time_recovery_check(first_user: int, n: int) -> dict:
    """Five timings, each on rows nothing touched before, in shuffled order: the whole
    recovery-code check (`verify_recovery_code`: the lookup row, one argon2id verification,
    the conditional UPDATE, the use's events and email), its judging part alone (row, hash,
    UPDATE), its UPDATE alone, a bare single-row UPDATE, and the hash verification alone
    (printed separately). Each account gets one code sharing one hash (the hash is what it
    costs, not what it holds)."""
    code = recovery_codes.new_code()
    lookup, rest = recovery_codes.parse(code) or ("", "")
    code_hash = make_password(rest, hasher=recovery_codes._HASHER)
    users = list(
        User.objects.select_related("mfa_state", "totp_device").filter(
            email__in=[_email(i) for i in range(first_user, first_user + n)]
        )
    )
    now = timezone.now()
    RecoveryCode.objects.filter(user__in=users).delete()
    rows = RecoveryCode.objects.bulk_create(
        RecoveryCode(user=u, lookup=lookup, code_hash=code_hash, created_at=now) for u in users
    )
    pairs = list(zip(users, rows, strict=True))
    kinds = ("check", "judge", "statement", "bare", "hash")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    order = list(times) * (len(pairs) // len(times))
    random.Random(n).shuffle(order)
    warm_up = WARM_UP * len(times)
    order = list(times) * WARM_UP + order
    with connection.cursor() as cursor:
        for kind, (user, row) in zip(order, pairs, strict=False):
            t0 = time.perf_counter()
            if kind == "check":
                ok = recovery_codes.verify_recovery_code(
                    user=user, code=code, request=None, purpose="login"
                ).accepted
            elif kind == "judge":
                # What judging costs without what a use records (event, email): the row by
                # its lookup, the one hash verification, the conditional UPDATE.
                found = (
                    RecoveryCode.objects.filter(user=user, lookup=lookup)
                    .only("code_hash", "used_at")
                    .first()
                )
                ok = (
                    found is not None
                    and check_password(rest, found.code_hash)
                    and recovery_codes._use(found.pk, user.pk, now)
                )
            elif kind == "statement":
                ok = recovery_codes._use(row.pk, user.pk, now)
            elif kind == "hash":
                ok = check_password(rest, code_hash)
            else:
                cursor.execute(
                    "UPDATE mfa_recoverycode SET created_at = created_at WHERE id = %s", [row.pk]
                )
                ok = cursor.rowcount == 1
            if warm_up:
                warm_up -= 1
            else:
                times[kind].append(time.perf_counter() - t0)
            if not ok:
                raise SystemExit(f"{kind} refused for {user.email}")
    RecoveryCode.objects.filter(user__in=users).delete()
    return {
        "n": len(pairs),
        "check_median_us": statistics.median(times["check"]) * 1e6,
        "judge_median_us": statistics.median(times["judge"]) * 1e6,
        "statement_median_us": statistics.median(times["statement"]) * 1e6,
        "bare_update_median_us": statistics.median(times["bare"]) * 1e6,
        "hash_median_us": statistics.median(times["hash"]) * 1e6,
    }


def fresh_code(email: str) -> str:
    """A new set for the account (2FA on), and one of its codes in clear, for the counting
    login of bench/recovery_check.py."""
    user = User.objects.get(email=email)
    with transaction.atomic():
        codes = recovery_codes.issue(user, request=None)
    return (codes or [""])[0]
