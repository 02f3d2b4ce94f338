"""The help-centre article, clicked through in a real Chromium.

Codes come from `oathtool` reading the key the page shows (or the QR code it draws), as an
authenticator app would. Each code is accepted once per 30-second step, so a later step is
asked of oathtool (--now) instead of waiting for the clock.
"""

import io
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import zxingcpp
from django.utils import dateformat, timezone
from PIL import Image
from playwright.sync_api import Page, expect

from tests.e2e.conftest import enter_code, log_in, turn_off_with_the_tick
from tests.helpers import SECRET, add_membership, code_for, enable_2fa
from twostep.audit.models import SecurityEvent
from twostep.mfa import totp
from twostep.mfa.models import TOTPDevice

pytestmark = pytest.mark.e2e

EMAIL = "ada@example.com"
FULL_NAME = "Ada Lovelace"
ORGANIZATION = "Analytical Engines"


def open_user_menu(page: Page, item: str) -> None:
    """Click the name in the upper right, then `item` in the menu it opens."""
    page.get_by_test_id("user-menu").click()
    menu = page.get_by_role("navigation", name="Account")
    if item == "Log out":
        menu.get_by_role("button", name=item).click()
    else:
        menu.get_by_role("link", name=item).click()


def two_factor_section(page: Page):
    return page.locator(
        "section", has=page.get_by_role("heading", name="Two-factor authentication")
    )


def expect_logged_out(page: Page) -> None:
    expect(page.get_by_role("heading", name="Log in to Bpart")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_count(0)


def decode_qr(page: Page) -> str:
    """Screenshot the QR code and read it as a phone camera would."""
    png = page.get_by_test_id("qr-code").screenshot()
    barcodes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(barcodes) == 1, f"expected one QR code in the screenshot, found {len(barcodes)}"
    return barcodes[0].text


def scan_setup_page(page: Page, email: str = EMAIL) -> str:
    """Check the QR code, the manual key and the otpauth link agree; return the base32 key."""
    uri = decode_qr(page)
    assert uri.startswith(f"otpauth://totp/Bpart:{email}?secret="), uri
    parts = urlsplit(uri)
    assert unquote(parts.path) == f"/Bpart:{email}"
    query = parse_qs(parts.query)
    assert query["issuer"] == ["Bpart"]
    key = page.get_by_test_id("manual-key").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})*", key), key
    assert query["secret"] == [key.replace(" ", "")]
    expect(page.locator('a[href^="otpauth://"]')).to_have_attribute("href", uri)
    return key.replace(" ", "")


def enrol(page: Page, authenticator) -> str:
    """From any logged-in page: Settings, Enable, scan, confirm. Returns the base32 key."""
    open_user_menu(page, "Settings")
    page.get_by_role("button", name="Enable Two-Factor Authentication").click()
    key = scan_setup_page(page)
    enter_code(page, authenticator(key, datetime.now(UTC)), "Confirm and turn on")
    expect(page.get_by_text("Two-factor authentication is now active")).to_be_visible()
    save_recovery_codes(page)
    return key


def save_recovery_codes(page: Page) -> list[str]:
    """On the recovery codes page that follows turning 2FA on: read the codes, tick "I have
    saved them", continue to Settings. Returns the codes."""
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()
    assert len(codes) == 10, codes
    page.get_by_label("I have saved my recovery codes somewhere safe.").check()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/settings/$"))
    return codes


def a_wrong_code() -> str:
    """A code that matches no step within the clock-skew search, so it is plainly wrong."""
    near = {code_for(SECRET, steps=s) for s in range(-totp.DRIFT_REACH - 2, totp.DRIFT_REACH + 3)}
    return next(f"{n:06d}" for n in range(10**6) if f"{n:06d}" not in near)


def test_seed_flow_enable_log_in_with_code_and_disable(
    page: Page, make_user, authenticator, time_machine
):
    user = make_user(EMAIL, full_name=FULL_NAME)
    add_membership(user, ORGANIZATION, role="manager")

    # Log in with email and password: 2FA is off, so that is enough.
    log_in(page, EMAIL)
    expect(page).to_have_url(re.compile(r"/profile/$"))
    expect(page.get_by_role("cell", name=ORGANIZATION)).to_be_visible()

    # My Profile (your name in the upper right corner) -> Settings.
    name = page.get_by_test_id("user-menu")
    expect(name).to_have_text(FULL_NAME)
    box = name.bounding_box()
    assert box is not None, "the user menu has no box"
    assert box["x"] + box["width"] > 0.9 * page.viewport_size["width"], box  # right edge
    assert box["y"] < 100, box  # in the top bar
    menu = page.get_by_role("navigation", name="Account")
    expect(menu).to_be_hidden()
    name.click()
    expect(menu.get_by_role("link", name="My Profile")).to_be_visible()
    expect(menu.get_by_role("link", name="Settings")).to_be_visible()
    expect(menu.get_by_role("button", name="Log out")).to_be_visible()
    menu.get_by_role("link", name="Settings").click()

    section = two_factor_section(page)
    expect(section.get_by_test_id("mfa-status")).to_have_text("Off")

    # Click Enable Two-Factor Authentication and follow the instructions on the screen.
    section.get_by_role("button", name="Enable Two-Factor Authentication").click()
    expect(page).to_have_url(re.compile(r"/settings/2fa/setup/$"))
    steps = page.locator("ol.steps")
    expect(steps).to_contain_text("Google Authenticator")
    expect(steps).to_contain_text("Microsoft Authenticator")
    expect(page.get_by_test_id("qr-code").locator("svg")).to_be_visible()
    expect(page.get_by_text("Can't scan the code? Enter this key instead")).to_be_visible()
    expect(page.get_by_label("6-digit code")).to_be_visible()
    key = scan_setup_page(page)

    # Enter the 6-digit code from your app to confirm.
    enrolment_code = authenticator(key, datetime.now(UTC))
    enter_code(page, enrolment_code, "Confirm and turn on")
    expect(page.get_by_role("status")).to_have_text("Two-factor authentication is now active.")
    save_recovery_codes(page)
    confirmed_at = TOTPDevice.objects.get(user=user).confirmed_at
    assert confirmed_at is not None
    since = dateformat.format(timezone.localtime(confirmed_at), "j F Y")
    expect(page.get_by_test_id("mfa-status")).to_have_text(f"On since {since}")

    open_user_menu(page, "Log out")
    expect_logged_out(page)

    # Log in again: the password alone is not a login.
    log_in(page, EMAIL)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    expect(page.get_by_label("6-digit code")).to_be_visible()
    page.goto("/profile/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/profile/$"))
    expect_logged_out(page)

    # The enrolment code is spent; the app's next code (one step ahead) is accepted.
    page.goto("/login/code/")
    enter_code(page, enrolment_code, "Verify")
    expect(page.get_by_role("alert")).to_have_text(
        "That code has already been used. Wait for the next code in your app."
    )
    enter_code(page, authenticator(key, datetime.now(UTC) + timedelta(seconds=30)), "Verify")
    expect(page).to_have_url(re.compile(r"/profile/$"))
    expect(page.get_by_test_id("user-menu")).to_have_text(FULL_NAME)

    # A minute later (for the server thread too), disable: the login with the code was
    # less than 10 minutes ago, so the warning and the tick are enough (no code again).
    time_machine.move_to(datetime.now(UTC) + timedelta(seconds=60), tick=True)
    open_user_menu(page, "Settings")
    two_factor_section(page).get_by_role("link", name="Disable two-factor authentication").click()
    expect(page.get_by_label("6-digit code")).to_have_count(0)
    turn_off_with_the_tick(page)
    expect(page.get_by_test_id("mfa-status")).to_have_text("Off")
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_wrong_code_shows_an_error_and_does_not_log_in(page: Page, make_user):
    enable_2fa(make_user(EMAIL, full_name=FULL_NAME))

    log_in(page, EMAIL)
    enter_code(page, a_wrong_code(), "Verify")

    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    expect(page.get_by_test_id("user-menu")).to_have_count(0)
    page.goto("/profile/")
    expect_logged_out(page)
    events = SecurityEvent.objects.values_list("type", flat=True)
    assert SecurityEvent.Type.CODE_FAILED in events
    assert SecurityEvent.Type.LOGIN not in events


def test_code_page_links_to_the_recovery_steps(page: Page, make_user):
    enable_2fa(make_user(EMAIL, full_name=FULL_NAME))

    log_in(page, EMAIL)
    page.get_by_role("link", name="Lost access to your authenticator app?").click()

    heading = page.get_by_role("heading", name="Lost access to your authenticator app?", level=1)
    expect(heading).to_be_visible()
    expect(page.get_by_role("heading", name="Recovery steps")).to_be_visible()
    expect(page.get_by_role("main").get_by_role("link", name="support@bpart.com")).to_be_visible()
    for item in (
        "Your full name",
        "The organization(s) you manage or work with",
        "A short explanation of what happened",
    ):
        expect(page.get_by_role("listitem").filter(has_text=item)).to_be_visible()
    expect(
        page.get_by_text("Recovery is only possible after manual identity verification")
    ).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_count(0)

    # Reading the recovery steps does not end the pending login.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    page.reload()
    expect(page.get_by_label("6-digit code")).to_be_visible()


def test_setup_page_runs_under_the_csp_without_violations(page: Page, console_errors, make_user):
    make_user(EMAIL, full_name=FULL_NAME)
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    log_in(page, EMAIL)
    open_user_menu(page, "Settings")
    with page.expect_response(re.compile(r"/settings/2fa/setup/$")) as setup:
        page.get_by_role("button", name="Enable Two-Factor Authentication").click()
    assert "default-src 'self'" in setup.value.headers["content-security-policy"]

    svg = page.get_by_test_id("qr-code").locator("svg")
    expect(svg).to_be_visible()
    box = svg.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100, box
    # The stylesheet is served locally and allowed by the policy.
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(245, 247, 251)"

    # Trip the policy on purpose: the probe's own violation arrives after any the page caused,
    # and proves the listeners are live.
    with page.expect_console_message(lambda m: "Content Security Policy" in m.text):
        page.evaluate(
            "() => { const s = document.createElement('style');"
            " s.textContent = 'body { color: red }'; document.head.append(s); }"
        )
    page.wait_for_function("window.cspViolations.length > 0")
    assert page.evaluate("window.cspViolations") == ["style-src-elem inline"]
    csp_messages = [m for m in console_errors if "Content Security Policy" in m]
    assert len(csp_messages) == 1, csp_messages
    assert "inline style" in csp_messages[0]


def test_security_activity_lists_the_login_and_2fa_turned_on(page: Page, make_user, authenticator):
    make_user(EMAIL, full_name=FULL_NAME)
    log_in(page, EMAIL)
    enrol(page, authenticator)

    events = page.get_by_test_id("security-events").locator("tbody tr")
    for what in ("Logged in", "2FA turned on"):
        row = events.filter(has=page.get_by_role("cell", name=what, exact=True))
        expect(row).to_have_count(1)
        expect(row).to_contain_text("127.0.0.1")
        expect(row).to_contain_text("Chrome on Linux")
