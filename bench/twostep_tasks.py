"""Work done inside twostep's own environment for the benchmark (run as a script with
DATABASE_URL set): seed accounts and time the code check."""

import argparse
import heapq
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "twostep.settings")

import django  # noqa: E402

django.setup()

import recovery_tasks  # noqa: E402  (bench/, on sys.path as the script's directory)
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from twostep.accounts.models import User  # noqa: E402
from twostep.mfa import crypto, totp  # noqa: E402
from twostep.mfa.models import MfaState, TOTPDevice  # noqa: E402
from twostep.mfa.verification import verify_code  # noqa: E402

SECRET = bytes.fromhex(
    os.environ.get("BENCH_SECRET_HEX", "3132333435363738393031323334353637383930")
)
PASSWORD = os.environ.get("BENCH_PASSWORD", "bench-password-1")


def email(i: int) -> str:
    return f"bench{i}@example.com"


def seed(users: int) -> None:
    """`users` accounts with 2FA on, all sharing one password hash and one secret."""
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # DEBUG off: hashed names
    password_hash = make_password(PASSWORD)
    token = crypto.encrypt(SECRET)
    now = timezone.now()
    User.objects.all().delete()
    if connection.vendor == "postgresql":
        _copy_seed(users, password_hash, token, now)
    else:
        batch = 5000
        for start in range(0, users, batch):
            chunk = range(start, min(users, start + batch))
            created = User.objects.bulk_create(
                User(email=email(i), full_name=f"Bench {i}", password=password_hash) for i in chunk
            )
            TOTPDevice.objects.bulk_create(
                TOTPDevice(user=u, encrypted_secret=token, confirmed_at=now, created_at=now)
                for u in created
            )
            MfaState.objects.bulk_create(MfaState(user=u, methods=1) for u in created)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def _copy_seed(users: int, password_hash: str, token: str, now) -> None:
    stamp = now.isoformat()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE accounts_user RESTART IDENTITY CASCADE")
        raw = cursor.cursor  # psycopg 3 cursor, for COPY
        with raw.copy(
            "COPY accounts_user (id, email, full_name, password, is_superuser, is_staff, "
            "is_active, date_joined) FROM STDIN"
        ) as copy:
            for i in range(users):
                copy.write_row(
                    (i + 1, email(i), f"Bench {i}", password_hash, False, False, True, stamp)
                )
        with raw.copy(
            "COPY mfa_totpdevice (user_id, encrypted_secret, confirmed_at, last_used_step, "
            "created_at) FROM STDIN"
        ) as copy:
            for i in range(users):
                copy.write_row((i + 1, token, stamp, -1, stamp))
        with raw.copy("COPY mfa_mfastate (user_id, methods, failure_count) FROM STDIN") as copy:
            for i in range(users):
                copy.write_row((i + 1, 1, 0))
        cursor.execute("SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %s)", [users])


WARM_UP = 10


def time_code_check(first_user: int, n: int) -> dict:
    """Three ways to touch one device row, each on rows nothing touched before, in shuffled
    order: the whole code check (`verify_code`: decrypt, HMACs, the conditional UPDATE),
    its statement alone (the UPDATE that refuses a replay and records the step), and a
    bare single-row UPDATE. Medians in microseconds."""
    from twostep.mfa.verification import _consume_step

    devices = list(
        TOTPDevice.objects.select_related("user", "user__mfa_state").filter(
            user__email__in=[email(i) for i in range(first_user, first_user + n)]
        )
    )
    code = totp.code_at(SECRET, time.time())
    now = timezone.now()
    step = totp.time_step(now.timestamp())
    times: dict[str, list[float]] = {"check": [], "statement": [], "bare": []}
    order = list(times) * (len(devices) // 3)
    random.Random(n).shuffle(order)
    # The first rounds of each kind (connection, prepared statements, imports) don't count.
    warm_up = WARM_UP * len(times)
    order = list(times) * WARM_UP + order
    with connection.cursor() as cursor:
        for kind, device in zip(order, devices, strict=False):
            t0 = time.perf_counter()
            if kind == "check":
                ok = verify_code(device=device, code=code, request=None, purpose="login").accepted
            elif kind == "statement":
                ok = _consume_step(device, step, now)
            else:
                cursor.execute(
                    "UPDATE mfa_totpdevice SET created_at = created_at WHERE id = %s", [device.pk]
                )
                ok = cursor.rowcount == 1
            if warm_up:
                warm_up -= 1
            else:
                times[kind].append(time.perf_counter() - t0)
            if not ok:
                raise SystemExit(f"{kind} refused on device {device.pk}")
    return {
        "n": len(devices),
        "code_check_median_us": statistics.median(times["check"]) * 1e6,
        "statement_median_us": statistics.median(times["statement"]) * 1e6,
        "bare_update_median_us": statistics.median(times["bare"]) * 1e6,
    }


def last_seen_share(*, sessions: int, minutes: float, mean_gap: float) -> dict:
    """`sessions` logged-in sessions each load the authenticated page (/api/session/) at
    random gaps (exponential, mean `mean_gap` seconds) for `minutes` of a clock moved by
    time-machine, through the real middleware and session engine in this process: how many
    requests cost exactly one statement ("last seen" is written at most every 5 minutes)."""
    import time_machine  # a dev dependency: only this task needs it

    rng = random.Random(sessions)
    users = list(User.objects.order_by("id")[:sessions])
    counts: list[int] = []

    def counter(execute, sql, params, many, context):
        counts[-1] += 1
        return execute(sql, params, many, context)

    with time_machine.travel(timezone.now(), tick=False) as clock:
        clients = []
        for user in users:
            client = Client(HTTP_HOST="127.0.0.1", secure=True)
            client.force_login(user)
            clients.append(client)
        due = [(rng.expovariate(1 / mean_gap), i) for i in range(len(clients))]
        heapq.heapify(due)
        elapsed = 0.0
        while due:
            at, i = heapq.heappop(due)
            if at > minutes * 60:
                continue
            clock.shift(at - elapsed)
            elapsed = at
            counts.append(0)
            with connection.execute_wrapper(counter):
                response = clients[i].get("/api/session/")
            if response.status_code != 200:
                raise SystemExit(f"session {i}: HTTP {response.status_code}")
            heapq.heappush(due, (at + rng.expovariate(1 / mean_gap), i))
    one = sum(1 for c in counts if c == 1)
    return {
        "sessions": len(clients),
        "requests": len(counts),
        "one_statement": one,
        "share": one / len(counts),
        "most_statements": max(counts),
        "minutes": minutes,
        "mean_gap_s": mean_gap,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="task", required=True)
    sub.add_parser("seed").add_argument("--users", type=int, required=True)
    for name in ("codecheck", "recoverycheck"):
        timing = sub.add_parser(name)
        timing.add_argument("--first-user", type=int, required=True)
        timing.add_argument("--n", type=int, default=1000)
    sub.add_parser("recoverycode").add_argument("--user", type=int, required=True)
    seen = sub.add_parser("lastseen")
    seen.add_argument("--sessions", type=int, default=20)
    seen.add_argument("--minutes", type=float, default=30)
    seen.add_argument("--mean-gap", type=float, default=10)
    args = parser.parse_args()
    if args.task == "lastseen":
        share = last_seen_share(
            sessions=args.sessions, minutes=args.minutes, mean_gap=args.mean_gap
        )
        print(json.dumps(share))
    elif args.task == "seed":
        seed(args.users)
        print(json.dumps({"seeded": args.users}))
    elif args.task == "recoverycheck":
        print(json.dumps(recovery_tasks.time_recovery_check(args.first_user, args.n)))
    elif args.task == "recoverycode":
        print(json.dumps({"code": recovery_tasks.fresh_code(email(args.user))}))
    else:
        print(json.dumps(time_code_check(args.first_user, args.n)))


if __name__ == "__main__":
    main()
