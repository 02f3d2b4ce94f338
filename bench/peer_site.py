"""The peer in `make bench`: django-two-factor-auth, served from its own venv (bench/.peer-venv)
by the minimal site in bench/peer/, and driven over HTTP like twostep.

    python = ensure_venv()                       # idempotent: stamp = hash of requirements.txt
    env = peer_env("postgres://postgres@127.0.0.1:5432/peer_bench", "2,19456,1")
    subprocess.run(manage_argv(python, "migrate", "--noinput", "-v0"), env=env, check=True)
    subprocess.run(manage_argv(python, "bench_seed", "--users", "1000", "--password", PW,
                               "--secret-hex", SECRET_HEX), env=env, check=True)
    server = subprocess.Popen(gunicorn_argv(port, workers=4), env=env)
    site = PeerSite(port); site.login(conn.session(), 7, PW, totp(SECRET_HEX))

Seed and serve with the same BENCH_ARGON2, or every login rehashes the password and saves
the user (Django's must_update), which adds writes to the login.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import client

BENCH_DIR = Path(__file__).resolve().parent
PEER_DIR = BENCH_DIR / "peer"
REQUIREMENTS = PEER_DIR / "requirements.txt"
DEFAULT_VENV = BENCH_DIR / ".peer-venv"

LOGIN_PAGE = "/account/login/"
SUCCESS_URL = "/auth-page/"  # LOGIN_REDIRECT_URL in bench/peer/peersite/settings.py
# two_factor's LoginView is a formtools SessionWizardView: the wizard's prefix is the view's
# class name normalised ("login_view"), and each step's fields carry the step's name.
STEP_FIELD = "login_view-current_step"
TOKEN_FIELD = "token-otp_token"


def ensure_venv(path: Path | str = DEFAULT_VENV) -> Path:
    """Create the peer's venv and install requirements.txt into it, unless a stamp says this
    very requirements.txt is already installed there. Returns the venv's python."""
    path = Path(path)
    python = path / "bin" / "python"
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]
    stamp = path / f".installed-{digest}"
    if stamp.exists() and python.exists():
        return python
    if not python.exists():
        subprocess.run(["python3", "-m", "venv", str(path)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)],
        check=True,
        timeout=1800,
    )
    for old in path.glob(".installed-*"):
        old.unlink()
    stamp.touch()
    return python


def peer_env(
    database_url: str,
    argon2: str | None = None,
    *,
    conn_max_age: int = 0,
    count_sql: bool = False,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment for the peer's manage.py and gunicorn. argon2 is
    "time_cost,memory_cost_kib,parallelism"; count_sql adds the X-Bench-SQL header."""
    env = dict(os.environ if base is None else base)
    # Never inherit twostep's settings module or import path.
    env.pop("PYTHONPATH", None)
    env["DJANGO_SETTINGS_MODULE"] = "peersite.settings"
    env["DATABASE_URL"] = database_url
    env["PEER_CONN_MAX_AGE"] = str(conn_max_age)
    if argon2:
        env["BENCH_ARGON2"] = argon2
    else:
        env.pop("BENCH_ARGON2", None)
    if count_sql:
        env["BENCH_COUNT_SQL"] = "1"
        env["PYTHONPATH"] = str(BENCH_DIR)  # bench/sqlcount.py, the counting middleware
    else:
        env.pop("BENCH_COUNT_SQL", None)
    return env


def manage_argv(python: Path | str, *args: str) -> list[str]:
    return [str(python), str(PEER_DIR / "manage.py"), *args]


def gunicorn_argv(
    port: int,
    workers: int,
    extra: Sequence[str] = (),
    venv: Path | str = DEFAULT_VENV,
) -> list[str]:
    """gunicorn for the peer site on 127.0.0.1:port; extra carries the settings shared with
    twostep's server (worker class, threads, keep-alive, ...)."""
    return [
        str(Path(venv) / "bin" / "gunicorn"),
        "peersite.wsgi",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(PEER_DIR),
        *extra,
    ]


def username(user_index: int) -> str:
    return f"bench{user_index}"


def totp(secret_hex: str, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (HMAC-SHA1) of a hex secret, as the seeded devices compute it."""
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(bytes.fromhex(secret_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


class PeerSite:
    """django-two-factor-auth's login wizard, driven the way a browser would."""

    name = "django-two-factor-auth"
    auth_page = SUCCESS_URL
    bare_page = "/bare/"
    login_page = LOGIN_PAGE

    def __init__(self, port: int):
        self.port = port

    def password_step(self, session: client.Session, username_or_email: str, password: str) -> bool:
        """GET the login form, POST the password step. True if the site now asks for the
        code. The peer signs in by username only (Django's ModelBackend), not by email."""
        page = session.get(LOGIN_PAGE)
        if page.status != 200:
            return False
        response = session.post(
            LOGIN_PAGE,
            {
                "csrfmiddlewaretoken": page.csrf_token(),
                STEP_FIELD: "auth",
                "auth-username": username_or_email,
                "auth-password": password,
            },
        )
        # A good password re-renders the wizard at its token step (200, no redirect);
        # a bad one re-renders the auth step with an error.
        if response.status != 200 or f'name="{TOKEN_FIELD}"'.encode() not in response.body:
            return False
        # The code step posts this page's form token, as a browser would.
        session.peer_csrf_token = response.csrf_token()  # type: ignore[attr-defined]
        return True

    def code_step(self, session: client.Session, code: str, confirm: bool = False) -> bool:
        """POST the code. True only if the wizard finished: it logs the user in and redirects
        to the success URL (a wrong or replayed code re-renders the token step with 200).
        confirm=True also GETs the auth page and requires a 200."""
        token = getattr(session, "peer_csrf_token", None) or session.cookies.get("csrftoken", "")
        response = session.post(
            LOGIN_PAGE,
            {"csrfmiddlewaretoken": token, STEP_FIELD: "token", TOKEN_FIELD: code},
        )
        if response.status != 302 or urlsplit(response.location).path != SUCCESS_URL:
            return False
        if confirm:
            return session.get(self.auth_page).status == 200
        return True

    def login(self, session: client.Session, user_index: int, password: str, code: str) -> bool:
        """The full flow for bench{user_index}: GET form, POST password, POST code."""
        return self.password_step(session, username(user_index), password) and self.code_step(
            session, code
        )


if __name__ == "__main__":
    # bench/peer/setup.sh: `python3 bench/peer_site.py ensure-venv [PATH]` prints the python.
    if len(sys.argv) >= 2 and sys.argv[1] == "ensure-venv":
        print(ensure_venv(sys.argv[2] if len(sys.argv) > 2 else DEFAULT_VENV))
    else:
        sys.exit("usage: peer_site.py ensure-venv [VENV_PATH]")
