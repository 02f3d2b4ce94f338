"""The settings module with DEBUG off: development keys refused, cookies Secure."""

import gzip
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management.utils import get_random_secret_key

from twostep.settings import DEVELOPMENT_ENCRYPTION_KEY, DEVELOPMENT_SECRET_KEY

PROPER_SECRET_KEY = get_random_secret_key()  # what startproject writes: 50 characters
SHOW = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps({n: getattr(s, n) for n in ("
    "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_NAME', "
    "'CSRF_COOKIE_NAME', 'SECURE_HSTS_SECONDS', 'SECURE_SSL_REDIRECT')}))"
)


def production_env(tmp_path, **env: str) -> dict[str, str]:
    """This process's environment without our settings (nor test-only switches like
    DJANGO_ALLOW_ASYNC_UNSAFE, which other tests set), DEBUG off, and `env` added."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TWOSTEP_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    clean.update(DJANGO_SETTINGS_MODULE="twostep.settings", TWOSTEP_VAR_DIR=str(tmp_path))
    clean.update({"TWOSTEP_DEBUG": "0", **env})
    return clean


def run_settings(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """Load the settings in a fresh interpreter with DEBUG off and `env` added.

    (Reading a setting loads the module; `manage.py check` below does the full set-up.)
    """
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        env=production_env(tmp_path, **env),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )


def proper_keys() -> dict[str, str]:
    return {
        "TWOSTEP_SECRET_KEY": PROPER_SECRET_KEY,
        "TWOSTEP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }


def test_proper_secret_key_is_fifty_characters():
    assert len(PROPER_SECRET_KEY) == 50


@pytest.mark.parametrize(
    "secret_key", [None, DEVELOPMENT_SECRET_KEY, "too-short-31-characters-long-xx"]
)
def test_debug_off_refuses_a_development_or_short_secret_key(tmp_path, secret_key):
    env = proper_keys()
    if secret_key is None:
        del env["TWOSTEP_SECRET_KEY"]
    else:
        env["TWOSTEP_SECRET_KEY"] = secret_key

    result = run_settings(tmp_path, **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured: Set TWOSTEP_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "keys",
    [
        None,
        DEVELOPMENT_ENCRYPTION_KEY,
        f"{Fernet.generate_key().decode()},{DEVELOPMENT_ENCRYPTION_KEY}",
    ],
)
def test_debug_off_refuses_the_development_encryption_key(tmp_path, keys):
    env = proper_keys()
    if keys is None:
        del env["TWOSTEP_ENCRYPTION_KEYS"]
    else:
        env["TWOSTEP_ENCRYPTION_KEYS"] = keys

    result = run_settings(tmp_path, **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured: Set TWOSTEP_ENCRYPTION_KEYS" in result.stderr


@pytest.mark.parametrize(("seconds", "refused"), [("59", True), ("0", True), ("60", False)])
def test_a_confirmation_window_under_a_minute_is_refused_at_start(tmp_path, seconds, refused):
    result = run_settings(tmp_path, **proper_keys(), TWOSTEP_REAUTH_SECONDS=seconds)

    assert (result.returncode != 0) == refused
    message = "ImproperlyConfigured: TWOSTEP_REAUTH_SECONDS must be at least 60 seconds."
    assert (message in result.stderr) == refused


@pytest.mark.parametrize("debug", ["0", "1"])
def test_a_malformed_encryption_key_is_refused_at_start(tmp_path, debug):
    env = proper_keys()
    env["TWOSTEP_ENCRYPTION_KEYS"] += ",not-a-fernet-key"

    result = run_settings(tmp_path, **env, TWOSTEP_DEBUG=debug)

    assert result.returncode != 0
    assert "ImproperlyConfigured: TWOSTEP_ENCRYPTION_KEYS holds a value" in result.stderr


def test_debug_off_starts_with_proper_keys_and_secure_cookies(tmp_path):
    result = run_settings(tmp_path, **proper_keys())

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["DEBUG"] is False
    assert shown["SESSION_COOKIE_SECURE"] is True
    assert shown["CSRF_COOKIE_SECURE"] is True
    assert shown["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert shown["CSRF_COOKIE_NAME"].startswith("__Host-")
    assert shown["SECURE_HSTS_SECONDS"] >= 31536000
    assert shown["SECURE_SSL_REDIRECT"] is True


def test_debug_off_passes_the_deployment_checks(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=production_env(tmp_path, **proper_keys()),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    # Only the HSTS choices that depend on the domain (subdomains, preload list) remain.
    warnings = set(re.findall(r"\((\w+\.\w+)\)", result.stdout + result.stderr))
    assert warnings <= {"security.W005", "security.W021"}


def test_hsts_subdomains_and_preload_when_set_leave_no_deployment_warning(tmp_path):
    env = {**proper_keys(), "TWOSTEP_HSTS_INCLUDE_SUBDOMAINS": "1", "TWOSTEP_HSTS_PRELOAD": "1"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=production_env(tmp_path, **env),
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert not re.findall(r"\((\w+\.\w+)\)", result.stdout + result.stderr)
    assert "System check identified no issues" in result.stdout


def test_the_test_run_uses_development_defaults():
    # The suite itself runs with DEBUG's development keys; production refuses them (above).
    assert settings.SECRET_KEY == DEVELOPMENT_SECRET_KEY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(port: int, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.fixture
def production_server(tmp_path):
    """collectstatic, then gunicorn on 127.0.0.1 with DEBUG off, as the README deploys it."""
    env = production_env(tmp_path, **proper_keys(), TWOSTEP_SSL_REDIRECT="0")
    manage = [sys.executable, "manage.py"]
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run(
            manage + command, env=env, cwd=settings.BASE_DIR, check=True, capture_output=True
        )
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [gunicorn, "twostep.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                fetch(port, "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_debug_off_serves_hashed_compressed_static_files(production_server, tmp_path):
    status, headers, page = fetch(production_server, "/login/")
    assert status == 200
    stylesheet = re.search(rb'href="(/static/twostep/site\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "the page does not link a hashed stylesheet"
    assert "style-src 'self'" in headers["content-security-policy"]

    status, headers, css = fetch(
        production_server, stylesheet.group(1).decode(), **{"Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert headers["content-encoding"] == "gzip"
    assert "immutable" in headers["cache-control"]
    source = Path(settings.BASE_DIR, "twostep", "static", "twostep", "site.css")
    assert gzip.decompress(css) == source.read_bytes()

    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    chat_js = manifest["paths"]["twostep/chat.js"]
    assert re.fullmatch(r"twostep/chat\.[0-9a-f]{12}\.js", chat_js)
    status, headers, _ = fetch(production_server, f"/static/{chat_js}")
    assert status == 200 and "javascript" in headers["content-type"]
