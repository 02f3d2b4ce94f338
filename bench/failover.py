"""Failover under load: every connection of the app terminated several times while pages
and logins are served. Counts the 500s (target 0) and the statements per authenticated page
(from a server started with BENCH_COUNT_SQL=1; target 1).

Only 127.0.0.1 is loaded, by a few threads, for a bounded time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import client
import psycopg

LOAD_THREADS = 3
LOGIN_EVERY = 5  # one password step per this many page rounds and thread


def terminate(database: str) -> int:
    """pg_terminate_backend for every session on `database` but our own. Returns how many."""
    with psycopg.connect(
        host="127.0.0.1", user="postgres", dbname=database, autocommit=True
    ) as admin:
        pids = [
            pid
            for (pid,) in admin.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    return len(pids)


def measure(
    *,
    port: int,
    database: str,
    cookie: str,
    email: str,
    password: str,
    seconds: float,
    kills: int = 5,
) -> dict:
    """Threads request the authenticated page (with `cookie`), the anonymous login page and
    now and then a password step for `email`, while all connections are terminated `kills`
    times at even intervals."""
    statuses: Counter[int] = Counter()
    statements: Counter[str] = Counter()
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    jar = dict(pair.split("=", 1) for pair in cookie.split("; ") if pair)

    def tally(response: client.Response, page: bool = False) -> None:
        with lock:
            statuses[response.status] += 1
            if page:
                statements[response.headers.get("x-bench-sql", "?")] += 1

    def load() -> None:
        conn = client.Connection(port)
        rounds = 0
        while time.monotonic() < deadline:
            rounds += 1
            try:
                session = conn.session()
                session.cookies.update(jar)
                tally(session.get("/api/session/"), page=True)
                anonymous = conn.session()
                form = anonymous.get("/login/")
                tally(form)
                if rounds % LOGIN_EVERY == 0 and form.status == 200:
                    step = {"csrfmiddlewaretoken": form.csrf_token()}
                    step |= {"email": email, "password": password}
                    tally(anonymous.post("/login/", step))
            except Exception:  # noqa: BLE001 - a dropped HTTP connection, counted
                with lock:
                    errors[0] += 1
                conn.close()
                conn = client.Connection(port)
        conn.close()

    terminated: list[int] = []

    def killer() -> None:
        for i in range(1, kills + 1):
            time.sleep(max(0.0, deadline - seconds * (1 - i / (kills + 1)) - time.monotonic()))
            terminated.append(terminate(database))

    threads = [threading.Thread(target=load) for _ in range(LOAD_THREADS)]
    threads.append(threading.Thread(target=killer))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "requests": sum(statuses.values()),
        "status": dict(statuses),
        "server_errors": sum(n for s, n in statuses.items() if s >= 500),
        "http_errors": errors[0],
        "kills": kills,
        "connections_terminated": sum(terminated),
        "auth_page_statements": dict(statements),
    }


def in_make_bench(
    deployment, *, workers: int, cookie_user: int, email: str, password: str, seconds: float
) -> dict:
    """For bench/run.py: serve `deployment` (one that counts statements), log in account
    `cookie_user` for the page, and measure."""
    with deployment.serve(workers) as server:
        return measure(
            port=server.port,
            database=deployment.database_url.rsplit("/", 1)[1],
            cookie=server.logged_in_cookie(cookie_user),
            email=email,
            password=password,
            seconds=seconds,
        )


def row(result: dict) -> tuple[str, str, str, str]:
    """The report row: 500s during the terminations, and statements per page."""
    shown = ", ".join(f"{n}: {k}×" for n, k in sorted(result["auth_page_statements"].items()))
    return (
        f"failover: {result['connections_terminated']} connections terminated in "
        f"{result['kills']} waves during load",
        f"{result['server_errors']} × 500 of {result['requests']} requests "
        f"({result['http_errors']} dropped); statements per authenticated page {shown}",
        "",
        "0 × 500, 1 statement",
    )
