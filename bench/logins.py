"""Logins per second against the raw argon2id verification rate, at one parameter set."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

import client
from argon2 import PasswordHasher
from deployment import PASSWORD, PG, SITES, Deployment, Server, totp_now
from memory import worker_rss_mib
from plan import CODE_CHECKS, Plan
from report import Row, fmt


def _verify_loop(args: tuple[str, str, float]) -> int:
    encoded, password, seconds = args
    hasher = PasswordHasher()
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        hasher.verify(encoded, password)
        count += 1
    return count


def argon2_rate(params: str, seconds: float) -> float:
    """Raw argon2id verifications per second on this machine, at its best process count."""
    t, m, p = (int(v) for v in params.split(","))
    encoded = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p).hash(PASSWORD)
    best = 0.0
    for procs in (os.cpu_count() or 2, 2 * (os.cpu_count() or 2)):
        with multiprocessing.get_context("spawn").Pool(procs) as pool:
            start = time.monotonic()
            counts = pool.map(_verify_loop, [(encoded, PASSWORD, seconds)] * procs)
            best = max(best, sum(counts) / (time.monotonic() - start))
    return best


def login_load(server: Server, users: list[int], *, concurrency: int, seconds: float) -> dict:
    """Full logins (GET form, POST password, POST code), a fresh session each, each user
    once: concurrency threads, until `seconds` pass or the users run out."""
    queue = iter(users)
    lock = threading.Lock()
    ok, failed = [0], [0]
    deadline = time.monotonic() + seconds

    def worker() -> None:
        conn = client.Connection(server.port)
        while time.monotonic() < deadline:
            with lock:
                index = next(queue, None)
            if index is None:
                return
            try:
                good = server.site.login(conn.session(), index, PASSWORD, totp_now())
            except Exception:  # noqa: BLE001 - counted as a failure
                good = False
            with lock:
                (ok if good else failed)[0] += 1
        conn.close()

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    return {"logins_per_s": ok[0] / elapsed, "logins": ok[0], "failed": failed[0]}


def measure(plan: Plan, params: str) -> dict:
    """The raw hash rate, then each site's login rate on a freshly seeded database (left
    seeded for the phases after: bench_twostep and bench_peer)."""
    raw = argon2_rate(params, plan.seconds / 2)
    # Long enough for plan.logins_wanted logins: at 10 a second, 12 s would be noise.
    seconds = max(plan.seconds, plan.logins_wanted / raw)
    results = {}
    for key, site in SITES.items():
        deployment = Deployment(site, f"{PG}/bench_{key}", params)
        # Accounts: [0, login_users - 10) for the load, the next ones for single logins,
        # then CODE_CHECKS accounts for the code-check timing.
        deployment.seed(plan.login_users + CODE_CHECKS)
        with deployment.serve(plan.workers) as server:
            load = login_load(
                server,
                list(range(plan.login_users - 10)),
                concurrency=plan.concurrency,
                seconds=seconds,
            )
            load["rss_mib"] = worker_rss_mib(server)
        results[key] = load
    return {"raw_argon2_per_s": raw, **results}


def rows(found: dict, *, profile: str, params: str, concurrency: int) -> list[Row]:
    raw, t, p = found["raw_argon2_per_s"], found["twostep"], found["peer"]
    shown = [
        (f"raw argon2 verifications/s ({profile}: t,m,p = {params})", fmt(raw), fmt(raw), ""),
        (
            f"full logins/s ({profile}), concurrency {concurrency}",
            f"{fmt(t['logins_per_s'])} ({t['logins_per_s'] / raw:.2f} × hash)",
            f"{fmt(p['logins_per_s'])} ({p['logins_per_s'] / raw:.2f} × hash)",
            "≥ 0.9 × hash rate",
        ),
    ]
    if t["failed"] or p["failed"]:
        shown.append((f"failed logins ({profile})", str(t["failed"]), str(p["failed"]), ""))
    return shown
