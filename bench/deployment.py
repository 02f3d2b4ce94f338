"""The two sites and how each is seeded and served: gunicorn on a free port of 127.0.0.1,
stopped when its block ends, on a PostgreSQL or SQLite database of the bench."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import client
import peer_site
from commands import psql, run
from cryptography.fernet import Fernet
from report import log

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TWOSTEP_PYTHON = ROOT / ".venv" / "bin" / "python"
TWOSTEP_GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
PG = "postgres://postgres@127.0.0.1:5432"
PASSWORD = "bench-password-1"
SECRET_HEX = "3132333435363738393031323334353637383930"
PROFILES = {"django-default": "2,102400,8", "owasp-min": "2,19456,1"}
# The same gunicorn settings for both sites: sync workers, no shared control socket.
GUNICORN_SHARED = ("--worker-class", "sync", "--no-control-socket")


@dataclass
class RunFiles:
    """What a run makes before its first server: set by `prepared()`, so that spawned argon2
    workers, which import these modules, make none of it."""

    var: Path = Path("/nonexistent")
    fernet_key: str = ""
    peer_venv: Path = peer_site.DEFAULT_VENV
    peer_python: Path = peer_site.DEFAULT_VENV / "bin" / "python"


RUN = RunFiles()


@contextlib.contextmanager
def prepared() -> Iterator[None]:
    """The peer's virtual environment, twostep's encryption key and a VAR directory, removed
    at the end."""
    RUN.fernet_key = Fernet.generate_key().decode()
    RUN.var = Path(tempfile.mkdtemp(prefix="twostep-bench-"))
    log("preparing the peer's virtual environment")
    RUN.peer_python = peer_site.ensure_venv(RUN.peer_venv)
    try:
        yield
    finally:
        shutil.rmtree(RUN.var, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def totp_now() -> str:
    return peer_site.totp(SECRET_HEX)


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


SITES = {"twostep": TwostepSite, "peer": peer_site.PeerSite}


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
                TWOSTEP_ENCRYPTION_KEYS=RUN.fernet_key,
                TWOSTEP_SSL_REDIRECT="0",
                TWOSTEP_ALLOWED_HOSTS="127.0.0.1,testserver",
                TWOSTEP_ARGON2=self.argon2,
                TWOSTEP_CONN_MAX_AGE="600",
                TWOSTEP_VAR_DIR=str(RUN.var),
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
            python = RUN.peer_python
            run(peer_site.manage_argv(python, "migrate", "--noinput", "-v0"), env=self.env())
            run(
                peer_site.manage_argv(
                    python,
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
            argv = peer_site.gunicorn_argv(port, workers, extra=GUNICORN_SHARED, venv=RUN.peer_venv)
        errors = tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log", delete=False)
        # The app's own log (a 500's traceback, through Django's console handler) goes to
        # the same file as gunicorn's, so a failed phase can be read afterwards.
        process = subprocess.Popen(
            argv + ["--error-logfile", errors.name],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=errors,
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

    def logged_in_cookie(self, user_index: int) -> str:
        """The Cookie header of a session that completed a login for bench{user_index}."""
        session = client.Connection(self.port).session()
        if not self.site.login(session, user_index, PASSWORD, totp_now()):
            raise RuntimeError("could not log in for the page benchmark")
        return "; ".join(f"{k}={v}" for k, v in session.cookies.items())

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
