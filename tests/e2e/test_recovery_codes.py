"""Recovery codes in a real Chromium: shown once after turning 2FA on, downloaded as a text
file, one used at login, the same one refused in a second browser, and a new set that
makes the old one stop working."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import fill_login, log_in
from tests.e2e.test_two_factor import EMAIL, FULL_NAME, open_user_menu, two_factor_section
from tests.helpers import PASSWORD
from twostep.audit.models import SecurityEvent
from twostep.mfa.models import RecoveryCode

pytestmark = pytest.mark.e2e

CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}")


def use_recovery_code(page: Page, code: str) -> None:
    """From the second step: switch to a recovery code and enter `code`."""
    page.get_by_role("link", name="Use a recovery code").click()
    expect(page).to_have_url(re.compile(r"/login/code/\?method=recovery$"))
    page.get_by_label("Recovery code").fill(code)
    page.get_by_role("button", name="Verify").click()


def shown_codes(page: Page) -> list[str]:
    codes = page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()
    assert len(codes) == 10 and all(CODE.fullmatch(c) for c in codes), codes
    return codes


def test_codes_shown_downloaded_used_once_refused_elsewhere_and_replaced(
    page: Page,
    browser,
    live_server,
    make_user,
    authenticator,
    console_errors,
    tmp_path: Path,
    time_machine,
):
    make_user(EMAIL, full_name=FULL_NAME)
    log_in(page, EMAIL)

    # Turning 2FA on leads to the codes, shown once, with a download and a tick to leave.
    open_user_menu(page, "Settings")
    page.get_by_role("button", name="Enable Two-Factor Authentication").click()
    key = page.get_by_test_id("manual-key").inner_text().replace(" ", "")
    page.get_by_label("6-digit code").fill(authenticator(key, datetime.now(UTC)))
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = shown_codes(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as a text file").click()
    assert download.value.suggested_filename == "bpart-recovery-codes.txt"
    saved = tmp_path / "codes.txt"
    download.value.save_as(saved)
    text = saved.read_text()
    assert EMAIL in text
    assert [line for line in text.splitlines() if CODE.fullmatch(line)] == codes
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # print.js ran

    page.get_by_label("I have saved my recovery codes somewhere safe.").check()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/settings/$"))
    expect(two_factor_section(page).get_by_test_id("method-recovery-codes")).to_contain_text(
        "10 left"
    )
    page.reload()  # the codes are never shown again
    expect(page.get_by_text(codes[0])).to_have_count(0)

    # Log out; log in with the password and a recovery code instead of the app.
    open_user_menu(page, "Log out")
    page.goto("/login/")
    fill_login(page, EMAIL)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    use_recovery_code(page, codes[0].lower().replace("-", " "))
    expect(page).to_have_url(re.compile(r"/profile/$"))
    expect(page.get_by_test_id("user-menu")).to_have_text(FULL_NAME)

    # The same code in a second browser is refused.
    other_context = browser.new_context(base_url=live_server.url)
    other = other_context.new_page()
    other.goto("/login/")
    fill_login(other, EMAIL)
    use_recovery_code(other, codes[0])
    expect(other.get_by_role("alert")).to_have_text(
        "That recovery code has already been used. Try another one."
    )
    expect(other.get_by_test_id("user-menu")).to_have_count(0)

    # Settings: 9 left; generate a new set, which replaces the old one: a page of its own
    # that says so, behind "confirm it's you" once 10 minutes have passed since the login,
    # where a recovery code is refused and the password and an app code are asked.
    time_machine.move_to(datetime.now(UTC) + timedelta(minutes=11), tick=True)
    open_user_menu(page, "Settings")
    section = two_factor_section(page)
    expect(section.get_by_test_id("method-recovery-codes")).to_contain_text("9 left")
    section.get_by_role("link", name="Generate new codes").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("6-digit code").fill(codes[2])
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_role("alert").first).to_contain_text("6-digit code")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("6-digit code").fill(authenticator(key, datetime.now(UTC)))
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_test_id("old-codes-stop")).to_be_visible()
    page.get_by_role("button", name="Generate new codes").click()
    expect(page.get_by_text("Your old recovery codes no longer work")).to_be_visible()
    new_codes = shown_codes(page)
    assert not set(new_codes) & set(codes)
    page.get_by_label("I have saved my recovery codes somewhere safe.").check()
    page.get_by_role("button", name="Continue").click()

    # The old set's unused codes stop working; the new set's work. (The second browser's
    # half-login expired during those minutes: it gives the password again.)
    other.goto("/login/")
    fill_login(other, EMAIL)
    expect(other).to_have_url(re.compile(r"/login/code/"))
    other.goto("/login/code/?method=recovery")
    other.get_by_label("Recovery code").fill(codes[1])
    other.get_by_role("button", name="Verify").click()
    expect(other.get_by_role("alert")).to_have_text(
        "That recovery code is not right. Check it and try again."
    )
    other.get_by_label("Recovery code").fill(new_codes[0])
    other.get_by_role("button", name="Verify").click()
    expect(other).to_have_url(re.compile(r"/profile/$"))
    other_context.close()

    assert RecoveryCode.objects.filter(used_at__isnull=False).count() == 1
    types = list(SecurityEvent.objects.values_list("type", flat=True))
    assert types.count(SecurityEvent.Type.RECOVERY_CODES_GENERATED) == 2
    assert types.count(SecurityEvent.Type.RECOVERY_CODE_USED) == 2
    assert not [m for m in console_errors if "Content Security Policy" in m], console_errors
