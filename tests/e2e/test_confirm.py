"""'Confirm it's you' clicked through in a real Chromium: past the 10 minutes a login
opens, turning 2FA off first asks the password and a code (from `oathtool`), then comes
back to the page it was for. Time moves with time-machine, never slept through."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import enter_code, log_in, turn_off_with_the_tick
from tests.e2e.test_two_factor import EMAIL, FULL_NAME, open_user_menu, two_factor_section
from tests.helpers import PASSWORD, SECRET, enable_2fa
from twostep.audit.models import SecurityEvent
from twostep.mfa import totp
from twostep.mfa.models import TOTPDevice

pytestmark = pytest.mark.e2e

KEY = totp.encode_secret(SECRET)


def test_disabling_2fa_after_the_window_asks_to_confirm_then_goes_ahead(
    page: Page, make_user, authenticator, time_machine, console_errors
):
    not_found: list[str] = []  # what the pages asked for and did not get
    page.on("response", lambda response: response.status == 404 and not_found.append(response.url))
    user = make_user(EMAIL, full_name=FULL_NAME)
    enable_2fa(user)
    time_machine.move_to(datetime.now(UTC), tick=True)
    log_in(page, EMAIL)
    enter_code(page, authenticator(KEY, datetime.now(UTC)), "Verify")
    expect(page).to_have_url(re.compile(r"/profile/$"))

    # Eleven minutes later (for the server thread too): the login no longer counts.
    time_machine.move_to(datetime.now(UTC) + timedelta(minutes=11), tick=True)
    open_user_menu(page, "Settings")
    two_factor_section(page).get_by_role("link", name="Disable two-factor authentication").click()
    expect(page).to_have_url(re.compile(r"/confirm/\?next=%2Fsettings%2F2fa%2Fdisable%2F$"))
    expect(page.get_by_role("heading", name="Confirm it's you", level=1)).to_be_visible()
    expect(
        page.get_by_text("We ask for this to turn off two-factor authentication.")
    ).to_be_visible()
    expect(page.get_by_text("you will not be asked again for 10 minutes")).to_be_visible()

    # A wrong password: said next to the field, nothing changes.
    page.get_by_label("Your password").fill("not my password")
    page.get_by_label("6-digit code").fill(authenticator(KEY, datetime.now(UTC)))
    page.get_by_role("button", name="Confirm", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("That is not your password. Try again.")
    expect(page.get_by_label("Your password")).to_have_attribute(
        "aria-describedby", re.compile("id_password_error")
    )

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label("6-digit code").fill(authenticator(KEY, datetime.now(UTC)))
    page.get_by_role("button", name="Confirm", exact=True).click()

    # Back on the page it was for, which asks only for the tick.
    expect(page).to_have_url(re.compile(r"/settings/2fa/disable/$"))
    expect(page.get_by_role("heading", name="Disable two-factor authentication")).to_be_visible()
    expect(page.get_by_label("6-digit code")).to_have_count(0)
    turn_off_with_the_tick(page)
    expect(page.get_by_test_id("mfa-status")).to_have_text("Off")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert SecurityEvent.objects.filter(
        subject=user, type=SecurityEvent.Type.CONFIRMED_IDENTITY
    ).exists()
    # No page asked for anything missing; the one load the browser may log as failed is its
    # own favicon request (there is none), which no page makes.
    assert not_found == []
    assert [e for e in console_errors if not e.startswith("Failed to load resource")] == []
    assert len(console_errors) <= 1
