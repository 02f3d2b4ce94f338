"""Real worker processes for fault tests: `manage.py worker --loop` as a subprocess on the
test database, sending to a real SMTP listener on 127.0.0.1."""

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.mail.conftest import SMTPServer, free_port
from twostep.mail.models import WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[1]
WAIT = 30.0  # seconds; only reached when something is broken


def test_database_url() -> str:
    """The test database, as DATABASE_URL for a child process."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = db["USER"] or "postgres"
        return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


class Worker:
    """One `manage.py worker --loop` process; its stderr (the log) goes to a file."""

    def __init__(self, tmp_path: Path, smtp_port: int, *args: str, **env: str) -> None:
        self.log_path = tmp_path / f"worker-{id(self)}.log"
        environment = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "TWOSTEP_CONN_MAX_AGE": "600",  # reuse the connection, as in production
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_TIMEOUT": "5",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "worker", "--loop", "--interval", "0.1", *args],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def last_pass(self) -> float:
        """When this worker last completed a pass (a timestamp; 0 before its first)."""
        beat = WorkerHeartbeat.objects.filter(pid=self.pid).first()
        return 0.0 if beat is None else beat.last_pass_at.timestamp()

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=WAIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def allow_connections(allowed: bool, *, terminate: int | None = None) -> None:
    """Open or close the PostgreSQL test database to new connections (from the maintenance
    database: PostgreSQL refuses the change from a session of the database itself), then
    end the backend `terminate`, if given."""
    db = connection.settings_dict
    params = {"dbname": "postgres", "user": db["USER"], "host": db["HOST"], "port": db["PORT"]}
    with psycopg.connect(**params, password=db["PASSWORD"] or None, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{db["NAME"]}" WITH ALLOW_CONNECTIONS {allowed}')
        if terminate is not None:
            admin.execute("SELECT pg_terminate_backend(%s)", [terminate])


def wait_for(condition: Callable[[], object], what: str, timeout: float = WAIT) -> None:
    """Poll `condition` every 50 ms until it is true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def smtp_listener() -> Iterator[SMTPServer]:
    """A real SMTP server on a free port of 127.0.0.1 (started by the caller), stopped after."""
    server = SMTPServer(free_port())
    try:
        yield server
    finally:
        server.stop()


class Workers:
    """Worker processes sending to `smtp_port`, each stopped when the block ends:
    `with Workers(tmp_path, port) as workers: workers.start(*args, **env)`."""

    def __init__(self, tmp_path: Path, smtp_port: int) -> None:
        self.tmp_path, self.smtp_port = tmp_path, smtp_port
        self.started: list[Worker] = []

    def start(self, *args: str, **env: str) -> Worker:
        """A worker with extra command-line `args` and environment `env`."""
        worker = Worker(self.tmp_path, self.smtp_port, *args, **env)
        self.started.append(worker)
        return worker

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc_info: object) -> None:
        for worker in self.started:
            worker.stop()


# Fixtures (tests/conftest.py loads this module as a plugin).


@pytest.fixture
def listener() -> Iterator[SMTPServer]:
    with smtp_listener() as server:
        yield server


@pytest.fixture
def workers(tmp_path, listener) -> Iterator[Workers]:
    with Workers(tmp_path, listener.port) as started:
        yield started
