"""`make bench`: twostep and django-two-factor-auth side by side, on this machine.

Every server listens on 127.0.0.1 only, every load loop is bounded in count and time, and
every server is stopped at the end. Prints a table and writes bench/out/report.md and
bench/out/results.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import client  # noqa: E402
import enumeration  # noqa: E402
import failover  # noqa: E402
import peer_site  # noqa: E402

TWOSTEP_PYTHON = ROOT / ".venv" / "bin" / "python"
TWOSTEP_GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PG = "postgres://postgres@127.0.0.1:5432"
PASSWORD = "bench-password-1"
SECRET_HEX = "3132333435363738393031323334353637383930"
SECRET = bytes.fromhex(SECRET_HEX)
PROFILES = {"django-default": "2,102400,8", "owasp-min": "2,19456,1"}
CODE_CHECKS = 1500
WARM_UP_LOGINS = 100
# The same gunicorn settings for both sites: sync workers, no shared control socket.
GUNICORN_SHARED = ("--worker-class", "sync", "--no-control-socket")
OUT = BENCH / "out"


@dataclass
class Plan:
    seconds: float  # each load phase
    login_users: int
    replay_rounds: int
    replay_sessions: int
    scale_sizes: tuple[int, int]
    logins_wanted: int  # the login phases last long enough for about this many logins
    workers: int = 2
    concurrency: int = 4
    replay_workers: int = 4


FULL = Plan(
    seconds=12,
    login_users=3000,
    replay_rounds=200,
    replay_sessions=8,
    scale_sizes=(1_000, 1_000_000),
    logins_wanted=400,
)
QUICK = Plan(
    seconds=4,
    login_users=800,
    replay_rounds=20,
    replay_sessions=6,
    scale_sizes=(1_000, 20_000),
    logins_wanted=40,
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def totp_now() -> str:
    return peer_site.totp(SECRET_HEX)


# --- the two sites -----------------------------------------------------------------------


class TwostepSite:
    name = "twostep"
    auth_page = "/api/session/"
    bare_page = "/healthz"

    def __init__(self, port: int):
        self.port = port

    def password_step(self, session: client.Session, email: str, password: str) -> bool:
        page = session.get("/login/")
        if page.status != 200:
            return False
        token = page.csrf_token()
        response = session.post(
            "/login/", {"csrfmiddlewaretoken": token, "email": email, "password": password}
        )
        session.twostep_csrf = token  # type: ignore[attr-defined]
        return response.status == 302 and response.location.endswith("/login/code/")

    def code_step(self, session: client.Session, code: str) -> bool:
        response = session.post(
            "/login/code/",
            {"csrfmiddlewaretoken": session.twostep_csrf, "code": code},  # type: ignore[attr-defined]
        )
        return response.status == 302 and "/login" not in response.location

    def login(self, session: client.Session, user_index: int, password: str, code: str) -> bool:
        return self.password_step(session, f"bench{user_index}@example.com", password) and (
            self.code_step(session, code)
        )


@dataclass
class Deployment:
    """How to seed and serve one site on one database."""

    site: type
    database_url: str
    argon2: str
    count_sql: bool = False

    @property
    def name(self) -> str:
        return self.site.name

    def env(self) -> dict[str, str]:
        if self.site is TwostepSite:
            env = dict(os.environ)
            env.update(
                DJANGO_SETTINGS_MODULE="twostep_settings",
                PYTHONPATH=f"{ROOT}:{BENCH}",
                DATABASE_URL=self.database_url,
                TWOSTEP_DEBUG="0",
                TWOSTEP_SECRET_KEY="bench-" + "k" * 60,
                TWOSTEP_ENCRYPTION_KEYS=BENCH_FERNET_KEY,
                TWOSTEP_SSL_REDIRECT="0",
                TWOSTEP_ALLOWED_HOSTS="127.0.0.1,testserver",
                TWOSTEP_ARGON2=self.argon2,
                TWOSTEP_CONN_MAX_AGE="600",
                TWOSTEP_VAR_DIR=str(VAR),
                BENCH_SECRET_HEX=SECRET_HEX,
                BENCH_PASSWORD=PASSWORD,
            )
            env.pop("BENCH_COUNT_SQL", None)
            if self.count_sql:
                env["BENCH_COUNT_SQL"] = "1"
            return env
        env = peer_site.peer_env(
            self.database_url, self.argon2, conn_max_age=600, count_sql=self.count_sql
        )
        env["PYTHONPATH"] = str(BENCH)  # for sqlcount
        return env

    def seed(self, users: int) -> None:
        reset_database(self.database_url)
        if self.site is TwostepSite:
            run(
                [TWOSTEP_PYTHON, BENCH / "twostep_tasks.py", "seed", "--users", str(users)],
                env=self.env(),
            )
        else:
            run(peer_site.manage_argv(PEER_PYTHON, "migrate", "--noinput", "-v0"), env=self.env())
            run(
                peer_site.manage_argv(
                    PEER_PYTHON,
                    "bench_seed",
                    "--users",
                    str(users),
                    "--password",
                    PASSWORD,
                    "--secret-hex",
                    SECRET_HEX,
                ),
                env=self.env(),
            )
        settle(self.database_url)

    @contextlib.contextmanager
    def serve(self, workers: int) -> Iterator[Server]:
        port = free_port()
        if self.site is TwostepSite:
            argv = [
                str(TWOSTEP_GUNICORN),
                "twostep.wsgi",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--chdir",
                str(ROOT),
                *GUNICORN_SHARED,
            ]
        else:
            argv = peer_site.gunicorn_argv(port, workers, extra=GUNICORN_SHARED, venv=PEER_VENV)
        errors = tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log", delete=False)
        process = subprocess.Popen(
            argv + ["--error-logfile", errors.name],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = Server(self.site(port), process, Path(errors.name))
        try:
            server.wait_ready()
            yield server
        finally:
            server.stop()


@dataclass
class Server:
    site: TwostepSite | peer_site.PeerSite
    process: subprocess.Popen
    error_log: Path

    @property
    def port(self) -> int:
        return self.site.port

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        conn = client.Connection(self.port, timeout=5)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.error_log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                if conn.session().get(self.site.bare_page).status == 200:
                    conn.close()
                    return
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def worker_rss_mib(self) -> list[float]:
        out = subprocess.run(
            ["ps", "-o", "rss=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(v) / 1024 for v in out.split()]

    def errors_logged(self, pattern: str) -> int:
        return len(re.findall(pattern, self.error_log.read_text(errors="replace")))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run(argv: list, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in argv], env=env, capture_output=True, text=True, timeout=1800
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def psql(database: str, *commands: str) -> str:
    """Run SQL commands as the postgres superuser on 127.0.0.1."""
    argv = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-qtA"]
    for command in commands:
        argv += ["-c", command]
    return run(argv)


def settle(url: str) -> None:
    """Let PostgreSQL finish its background work (vacuum, statistics, writing dirty pages)
    before a measurement, instead of during it."""
    if not url.startswith("sqlite:"):
        psql(url.rsplit("/", 1)[1], "VACUUM ANALYZE", "CHECKPOINT")


def reset_database(url: str) -> None:
    if url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = url.rsplit("/", 1)[1]
    psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")


# --- measurements ------------------------------------------------------------------------


def _verify_loop(args: tuple[str, str, float]) -> int:
    from argon2 import PasswordHasher

    encoded, password, seconds = args
    hasher = PasswordHasher()
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        hasher.verify(encoded, password)
        count += 1
    return count


def argon2_rate(params: str, seconds: float) -> float:
    """Raw argon2id verifications per second on this machine, at its best process count."""
    from argon2 import PasswordHasher

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


def logged_in_cookie(server: Server, user_index: int) -> str:
    session = client.Connection(server.port).session()
    if not server.site.login(session, user_index, PASSWORD, totp_now()):
        raise RuntimeError("could not log in for the page benchmark")
    return "; ".join(f"{k}={v}" for k, v in session.cookies.items())


WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk(port: int, path: str, seconds: float, cookie: str = "") -> dict:
    argv = ["wrk", "-t2", "-c4", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    out = run(argv + [f"http://127.0.0.1:{port}{path}"])
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = {p: float(v) * scale[u] for p, v, u in WRK_LATENCY.findall(out)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "req_per_s": rate,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "non_2xx": int(bad.group(1)) if bad else 0,
    }


def sql_counts(deployment: Deployment, user_index: int) -> dict:
    """Statements per request, read from the X-Bench-SQL header of a counting server."""
    counting = Deployment(
        deployment.site, deployment.database_url, deployment.argon2, count_sql=True
    )
    with counting.serve(workers=1) as server:
        conn = client.Connection(server.port)
        session = conn.session()
        counts: list[int] = []
        original = session.request

        def counted(method, path, form=None):
            response = original(method, path, form)
            counts.append(int(response.headers.get("x-bench-sql", "0")))
            return response

        session.request = counted  # type: ignore[method-assign]
        if not server.site.login(session, user_index, PASSWORD, totp_now()):
            raise RuntimeError("counting login failed")
        login = sum(counts)
        counts.clear()
        session.get(server.site.auth_page)
        return {"per_login": login, "auth_page": counts[0]}


def race(server: Server, sessions: list[client.Session], code: str) -> list[bool | None]:
    """Every session submits `code` at the same moment; None marks an error."""
    barrier = threading.Barrier(len(sessions))
    results: list[bool | None] = [None] * len(sessions)

    def submit(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = server.site.code_step(sessions[i], code)
        except Exception:  # noqa: BLE001 - an error, counted by the caller
            results[i] = None

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def replay(deployment: Deployment, plan: Plan) -> dict:
    """N sessions pass the password step for one account, then send the same valid code at
    the same moment. Exactly one may log in. A new account each round."""
    deployment.seed(plan.replay_rounds + 1)
    rounds = {"exactly_one": 0, "more_than_one": 0, "none": 0, "errors": 0}
    with deployment.serve(workers=plan.replay_workers) as server:
        conns = [client.Connection(server.port) for _ in range(plan.replay_sessions)]
        for index in range(plan.replay_rounds):
            sessions = [c.session() for c in conns]
            ident = (
                f"bench{index}@example.com"
                if deployment.site is TwostepSite
                else peer_site.username(index)
            )
            ready = [server.site.password_step(s, ident, PASSWORD) for s in sessions]
            if not all(ready):
                rounds["errors"] += 1
                continue
            results = race(server, sessions, totp_now())
            if any(r is None for r in results):
                rounds["errors"] += 1
            wins = sum(1 for r in results if r)
            key = "exactly_one" if wins == 1 else "more_than_one" if wins > 1 else "none"
            rounds[key] += 1
        rounds["locked_errors_logged"] = server.errors_logged(r"database is locked")
        rounds["server_errors_logged"] = server.errors_logged(r"Traceback")
    return rounds


def code_check(deployment: Deployment, first_user: int, n: int) -> dict:
    out = run(
        [
            TWOSTEP_PYTHON,
            BENCH / "twostep_tasks.py",
            "codecheck",
            "--first-user",
            str(first_user),
            "--n",
            str(n),
        ],
        env=deployment.env(),
    )
    result = json.loads(out.strip().splitlines()[-1])
    result["ratio"] = result["code_check_median_us"] / result["bare_update_median_us"]
    result["statement_ratio"] = result["statement_median_us"] / result["bare_update_median_us"]
    return result


# --- the run -----------------------------------------------------------------------------


@dataclass
class Report:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def row(self, what: str, twostep: str, peer: str = "", note: str = "") -> None:
        self.rows.append((what, twostep, peer, note))
        log(f"{what}: twostep {twostep} | peer {peer} {note}")

    def markdown(self) -> str:
        lines = [
            "| measure | twostep | django-two-factor-auth | target / note |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines)


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = run(
        [
            TWOSTEP_PYTHON,
            "-c",
            "import django, argon2, psycopg; print(django.__version__,"
            " argon2.__version__, psycopg.__version__)",
        ]
    ).split()
    pg = psql("postgres", "SHOW server_version").strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "django": versions[0],
        "argon2_cffi": versions[1],
        "psycopg": versions[2],
        "postgresql": pg,
        "peer": "django-two-factor-auth "
        + next(
            line.split("==")[1]
            for line in peer_site.REQUIREMENTS.read_text().splitlines()
            if line.startswith("django-two-factor-auth==")
        ),
    }


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick look")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    report = Report()
    report.data["machine"] = machine()
    report.data["plan"] = plan.__dict__
    log(f"machine: {report.data['machine']}")
    sites = {"twostep": TwostepSite, "peer": peer_site.PeerSite}

    # 1. Logins per second against the raw argon2 rate, at both parameter sets.
    for profile, params in PROFILES.items():
        raw = argon2_rate(params, plan.seconds / 2)
        # Long enough for plan.logins_wanted logins: at 10 a second, 12 s would be noise.
        seconds = max(plan.seconds, plan.logins_wanted / raw)
        results = {}
        for key, site in sites.items():
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
                load["rss_mib"] = server.worker_rss_mib()
            results[key] = load
        report.data[f"logins_{profile}"] = {"raw_argon2_per_s": raw, **results}
        t, p = results["twostep"], results["peer"]
        report.row(f"raw argon2 verifications/s ({profile}: t,m,p = {params})", fmt(raw), fmt(raw))
        report.row(
            f"full logins/s ({profile}), concurrency {plan.concurrency}",
            f"{fmt(t['logins_per_s'])} ({t['logins_per_s'] / raw:.2f} × hash)",
            f"{fmt(p['logins_per_s'])} ({p['logins_per_s'] / raw:.2f} × hash)",
            "≥ 0.9 × hash rate",
        )
        if t["failed"] or p["failed"]:
            report.row(f"failed logins ({profile})", str(t["failed"]), str(p["failed"]))

    # SQL statements per login and per authenticated page (the OWASP database is seeded).
    counts = {
        key: sql_counts(
            Deployment(site, f"{PG}/bench_{key}", PROFILES["owasp-min"]), plan.login_users - 1
        )
        for key, site in sites.items()
    }
    report.data["sql"] = counts
    report.row(
        "SQL statements per login",
        str(counts["twostep"]["per_login"]),
        str(counts["peer"]["per_login"]),
        "fewer is better",
    )

    # 3. An authenticated page against a bare view of the same server.
    pages = {}
    for key, site in sites.items():
        deployment = Deployment(site, f"{PG}/bench_{key}", PROFILES["owasp-min"])
        with deployment.serve(plan.workers) as server:
            cookie = logged_in_cookie(server, plan.login_users - 2)
            bare = wrk(server.port, server.site.bare_page, plan.seconds)
            page = wrk(server.port, server.site.auth_page, plan.seconds, cookie)
            pages[key] = {"bare": bare, "auth": page, "rss_mib": server.worker_rss_mib()}
    report.data["pages"] = pages
    for key in ("bare", "auth"):
        t, p = pages["twostep"][key], pages["peer"][key]
        report.row(
            f"{'bare view' if key == 'bare' else 'authenticated page'} req/s (p99 ms)",
            f"{fmt(t['req_per_s'], 0)} ({t['p99_ms']:.2f})",
            f"{fmt(p['req_per_s'], 0)} ({p['p99_ms']:.2f})",
        )
    ratio = {k: pages[k]["auth"]["req_per_s"] / pages[k]["bare"]["req_per_s"] for k in pages}
    report.row(
        "authenticated page / bare view",
        f"{ratio['twostep']:.2f}",
        f"{ratio['peer']:.2f}",
        "≥ 0.5, p99 ≤ 3 ms",
    )
    report.row(
        "DB statements per authenticated page",
        str(counts["twostep"]["auth_page"]),
        str(counts["peer"]["auth_page"]),
        "≤ 1",
    )

    # 3b. Failover: every connection terminated during load (bench/failover.py).
    counting = Deployment(TwostepSite, f"{PG}/bench_twostep", PROFILES["owasp-min"], True)
    with counting.serve(plan.workers) as server:
        result = failover.measure(
            port=server.port,
            database="bench_twostep",
            cookie=logged_in_cookie(server, plan.login_users - 3),
            email=f"bench{plan.login_users - 4}@example.com",
            password=PASSWORD,
            seconds=plan.seconds,
        )
    report.data["failover"] = result
    report.row(*failover.row(result))

    # 2. The code check against a bare single-row UPDATE.
    settle(f"{PG}/bench_twostep")
    check = code_check(
        Deployment(TwostepSite, f"{PG}/bench_twostep", PROFILES["owasp-min"]),
        first_user=plan.login_users,
        n=CODE_CHECKS,
    )
    report.data["code_check"] = check
    report.row(
        "code check statement / bare UPDATE (median µs)",
        f"{check['statement_ratio']:.2f} ({fmt(check['statement_median_us'], 0)} / "
        f"{fmt(check['bare_update_median_us'], 0)})",
        "",
        "≤ 1.2",
    )
    report.row(
        "whole verify_code / bare UPDATE (median µs)",
        f"{check['ratio']:.2f} ({fmt(check['code_check_median_us'], 0)} / "
        f"{fmt(check['bare_update_median_us'], 0)})",
        "",
        "decrypt + HMACs + the statement",
    )

    # 4. Replay under load, on PostgreSQL and SQLite.
    for db in ("postgresql", "sqlite"):
        outcome = {}
        for key, site in sites.items():
            url = (
                f"{PG}/bench_replay_{key}"
                if db == "postgresql"
                else f"sqlite:///{VAR}/replay_{key}.sqlite3"
            )
            outcome[key] = replay(Deployment(site, url, PROFILES["owasp-min"]), plan)
        report.data[f"replay_{db}"] = outcome

        def cell(r: dict) -> str:
            return (
                f"{r['exactly_one']}/{plan.replay_rounds} exactly one; "
                f"{r['more_than_one']} with 2+; errors {r['errors']}, "
                f"'locked' {r['locked_errors_logged']}"
            )

        report.row(
            f"replay, {plan.replay_sessions} sessions × {plan.replay_rounds} rounds "
            f"({db}, {plan.replay_workers} workers)",
            cell(outcome["twostep"]),
            cell(outcome["peer"]),
            "exactly one every round, no errors",
        )

    # 5. Scale: the same figures with few and with many accounts (twostep, PostgreSQL).
    scale = {}
    for size in plan.scale_sizes:
        deployment = Deployment(TwostepSite, f"{PG}/bench_scale", PROFILES["owasp-min"])
        deployment.seed(size)
        picks = random.Random(size).sample(range(size // 2), min(size // 2, plan.login_users))
        warm_up, picks = picks[:WARM_UP_LOGINS], picks[WARM_UP_LOGINS:]
        with deployment.serve(plan.workers) as server:
            login_load(server, warm_up, concurrency=plan.concurrency, seconds=plan.seconds / 4)
            load = login_load(server, picks, concurrency=plan.concurrency, seconds=plan.seconds)
        # Code checks on accounts the logins did not touch, in the upper half of the table.
        settle(deployment.database_url)
        check = code_check(deployment, first_user=size // 2, n=min(CODE_CHECKS, size // 2))
        scale[size] = {
            "logins_per_s": load["logins_per_s"],
            "code_check_us": check["code_check_median_us"],
        }
    report.data["scale"] = scale
    small, large = plan.scale_sizes
    for measure, label in (("logins_per_s", "logins/s"), ("code_check_us", "code check µs")):
        a, b = scale[small][measure], scale[large][measure]
        report.row(
            f"scale: {label} with {small:,} vs {large:,} accounts",
            f"{fmt(a)} vs {fmt(b)} ({(b - a) / a:+.0%})",
            "",
            "within 10 %",
        )

    # 7. Known against unknown addresses, per form (bench/enumeration.py).
    deployment = Deployment(TwostepSite, f"{PG}/bench_twostep", PROFILES["owasp-min"])
    n = 40 if args.quick else 200
    found = enumeration.in_make_bench(deployment, requests=n, workers=plan.workers, log=log)
    report.data["enumeration"] = found
    for r in found:
        note = f"≤ {enumeration.TARGET_MS:g} ms ({r['known_ms']:.1f} vs {r['unknown_ms']:.1f})"
        report.row(
            f"enumeration: {r['form']}, known − unknown median ms", f"{r['diff_ms']:+.2f}", "", note
        )

    # 6. Memory per worker after the load.
    rss = {k: pages[k]["rss_mib"] for k in pages}
    report.row(
        "resident memory per worker after load (MiB)",
        ", ".join(fmt(v, 0) for v in rss["twostep"]),
        ", ".join(fmt(v, 0) for v in rss["peer"]),
    )
    report.data["elapsed_s"] = time.monotonic() - started
    finish(report, args.quick)


def finish(report: Report, quick: bool) -> None:
    OUT.mkdir(exist_ok=True)
    m = report.data["machine"]
    header = (
        f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, Django {m['django']}, "
        f"argon2-cffi {m['argon2_cffi']}, psycopg {m['psycopg']}, PostgreSQL {m['postgresql']}; "
        f"peer: {m['peer']}. gunicorn sync workers, persistent connections (600 s) on both "
        f"sides. {'Quick run' if quick else 'Full run'} took {report.data['elapsed_s']:.0f} s."
    )
    table = report.markdown()
    (OUT / "report.md").write_text(f"{header}\n\n{table}\n")
    (OUT / "results.json").write_text(json.dumps(report.data, indent=2, default=str))
    print()
    print(header)
    print()
    print(table)


VAR = Path("/nonexistent")  # set in __main__: spawned argon2 workers must not make one
BENCH_FERNET_KEY = ""
PEER_VENV = peer_site.DEFAULT_VENV
PEER_PYTHON: Path = PEER_VENV / "bin" / "python"

if __name__ == "__main__":
    from cryptography.fernet import Fernet

    BENCH_FERNET_KEY = Fernet.generate_key().decode()
    VAR = Path(tempfile.mkdtemp(prefix="twostep-bench-"))
    log("preparing the peer's virtual environment")
    PEER_PYTHON = peer_site.ensure_venv(PEER_VENV)
    try:
        main()
    finally:
        shutil.rmtree(VAR, ignore_errors=True)
