"""Browser fixtures: Debian's Chromium, driven by Playwright's sync API, against live_server.

No browser can be downloaded here, so Playwright is pointed at /usr/bin/chromium. `make test`
installs it (and oathtool) or stops naming the missing package; a test that finds neither
fails instead of skipping, since a run that silently skipped every browser test would prove
nothing.
"""

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from django.db import connections
from playwright.sync_api import Page, expect

from tests.helpers import PASSWORD

# Playwright's sync API keeps an asyncio loop in this thread; Django would otherwise refuse
# ORM calls made from the test (the live server runs in its own thread, unaffected).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1000, "height": 800}
PHONE = {"width": 360, "height": 740}  # the narrowest screen every page must fit


def require(found: bool, reason: str) -> None:
    """Fail without `found`: a skipped browser test would pass as green and prove nothing."""
    if not found:
        pytest.fail(f"{reason}: `make test` installs it, or names what is missing.", pytrace=False)


@pytest.fixture(scope="package")
def browser() -> Iterator:
    """One Chromium for the e2e package, closed before any other package's tests run."""
    require(os.access(CHROMIUM, os.X_OK), f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        # While Playwright's loop runs, Django keeps this thread's database connections
        # apart (asgiref's Local) from the ones outside it: close those opened by the tests,
        # or PostgreSQL cannot drop the test database at the end.
        connections.close_all()
        chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    """A fresh browser context (no cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable[..., Page]]:
    """Another browser (its own cookies) for each person or device taking part:
    new_page(viewport=VIEWPORT) -> Page."""
    contexts = []

    def make(viewport: dict = VIEWPORT) -> Page:
        context = browser.new_context(base_url=live_server.url, viewport=viewport)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def console_errors(page) -> list[str]:
    """The console's errors and warnings (CSP violations are reported there) and uncaught
    page errors, collected from the start of the test."""
    collected: list[str] = []
    page.on(
        "console",
        lambda message: (
            collected.append(message.text) if message.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda error: collected.append(str(error)))
    return collected


@pytest.fixture(scope="session")
def authenticator() -> Callable[[str, datetime], str]:
    """The phone's app, played by the real `oathtool`: authenticator(base32_key, at) -> code.

    `at` is passed explicitly (--now), so a code can be taken from the next time step, and
    so a clock moved by time-machine in this process is honoured.
    """
    require(shutil.which("oathtool") is not None, "oathtool not found (apt-get install oathtool)")

    def code(base32_key: str, at: datetime) -> str:
        moment = at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        result = subprocess.run(
            ["oathtool", "--totp", "-b", base32_key, "--now", moment],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    return code


def fill_login(page: Page, email: str, password: str = PASSWORD) -> None:
    """Fill the login form the page shows and send it."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def log_in(page: Page, email: str, password: str = PASSWORD, *, code: str | None = None) -> None:
    """Open the login page and log in, entering `code` when given."""
    page.goto("/login/")
    fill_login(page, email, password)
    if code is not None:
        enter_code(page, code)


def enter_code(page: Page, code: str, button: str = "Verify") -> None:
    page.get_by_label("6-digit code").fill(code)
    page.get_by_role("button", name=button).click()


def turn_off_with_the_tick(page: Page) -> None:
    """On the disable page, inside the confirmation window: tick the warning, press the
    button, and see 2FA off."""
    page.get_by_label("I understand that my account will be protected by my password only.").check()
    page.get_by_role("button", name="Disable two-factor authentication").click()
    expect(page.get_by_role("status")).to_have_text("Two-factor authentication is now off.")
