"""Security keys and passkeys clicked through in a real Chromium, with Chromium's virtual
authenticator (Chrome DevTools Protocol, WebAuthn domain) playing the key: a passkey on the
device (CTAP2, internal, resident keys and user verification), and an old U2F-style key
(no resident key) used as a second factor.

The live server answers at http://localhost:PORT, and TWOSTEP_SITE_URL is set to it, so
the relying party ID is "localhost" (browsers refuse WebAuthn on an IP address; the last
test shows what the page says then).
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import fill_login, log_in, turn_off_with_the_tick
from tests.helpers import PASSWORD, SECRET, code_for, enable_2fa
from twostep.audit.models import SecurityEvent
from twostep.mfa.models import SecurityKey

pytestmark = pytest.mark.e2e

EMAIL = "ada@example.com"
PASSKEY = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
    "automaticPresenceSimulation": True,
}
U2F_KEY = {
    "protocol": "u2f",
    "transport": "usb",
    "hasResidentKey": False,
    "hasUserVerification": False,
    "automaticPresenceSimulation": True,
}


NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"


@pytest.fixture(autouse=True)
def site_url(settings, live_server):
    assert live_server.url.startswith("http://localhost:"), live_server.url
    settings.TWOSTEP_SITE_URL = live_server.url
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""


def virtual_authenticator(page: Page, options: dict) -> tuple:
    """Plug Chromium's virtual authenticator with `options` into `page`; (cdp, its id)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return cdp, found["authenticatorId"]


def credentials(cdp, authenticator_id: str) -> list[dict]:
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]


def not_favicon(console: list[str]) -> list[str]:
    """The console's errors, but the browser's own favicon request (there is none)."""
    return [line for line in console if "404 (Not Found)" not in line]


def open_settings(page: Page) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Settings").click()


def add_key(page: Page, name: str) -> None:
    open_settings(page)
    page.get_by_role("link", name="Add a security key or passkey").click()
    page.get_by_label("Name of the key").fill(name)
    page.get_by_role("button", name="Add the key").click()
    expect(page.get_by_role("status").filter(has_text="was added")).to_have_text(
        f"“{name}” was added."
    )


def log_out(page: Page) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to Bpart")).to_be_visible()


def test_a_passkey_added_in_settings_logs_in_with_the_password_then_alone_then_is_removed(
    page: Page, browser, live_server, make_user, console_errors, time_machine
):
    user = make_user(EMAIL)
    cdp, authenticator_id = virtual_authenticator(page, PASSKEY)
    # This browser offers no autofill for passkeys (else the virtual authenticator would
    # answer the login page's autofill request before the buttons are clicked).
    page.add_init_script(NO_AUTOFILL)

    # Settings -> Add a security key or passkey: a name, then the browser's ceremony.
    log_in(page, EMAIL)
    add_key(page, "Laptop passkey")
    key = SecurityKey.objects.get(user=user)
    assert (key.name, key.discoverable) == ("Laptop passkey", True)
    [stored] = credentials(cdp, authenticator_id)
    assert stored["isResidentCredential"] is True
    # The account's first method: its recovery codes come next.
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    open_settings(page)
    expect(page.get_by_test_id("method-key")).to_contain_text("Laptop passkey")

    # Log in with the password and the key.
    log_out(page)
    log_in(page, EMAIL)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    page.get_by_role("button", name="Use security key").click()
    expect(page).to_have_url(re.compile(r"/profile/$"))

    # Log in with the passkey alone: the button.
    log_out(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(re.compile(r"/profile/$"))

    # And through the browser's autofill, in a browser that offers it: the login page
    # offers the passkey as soon as it opens (the virtual authenticator picks it at once).
    other = browser.new_context(base_url=live_server.url)
    autofill = other.new_page()
    cdp_other, other_id = virtual_authenticator(autofill, PASSKEY)
    [current] = credentials(cdp, authenticator_id)  # its sign count as it is now
    cdp_other.send("WebAuthn.addCredential", {"authenticatorId": other_id, "credential": current})
    autofill.goto("/login/")
    expect(autofill).to_have_url(re.compile(r"/profile/$"))
    # The passkey syncs back with its new sign count (a copy left behind would now be
    # refused as a possible clone).
    [synced] = credentials(cdp_other, other_id)
    cdp.send("WebAuthn.clearCredentials", {"authenticatorId": authenticator_id})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator_id, "credential": synced})
    other.close()
    logins = SecurityEvent.objects.filter(subject=user, type=SecurityEvent.Type.LOGIN)
    assert [e.details["second_factor"] for e in logins] == [True, True, True, False]
    key.refresh_from_db()
    assert key.last_used_at is not None

    # Remove it, 11 minutes later: first "confirm it's you", with the password and the key
    # itself; then, the account's last method, through turning 2FA off, which within the
    # confirmation asks only for the tick.
    time_machine.move_to(datetime.now(UTC) + timedelta(minutes=11), tick=True)
    open_settings(page)
    page.get_by_role("link", name="Remove Laptop passkey").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm with my security key").click()
    expect(page.get_by_text("last way to log in")).to_be_visible()
    page.get_by_role("link", name="Turn two-factor authentication off").click()
    turn_off_with_the_tick(page)
    assert not SecurityKey.objects.filter(user=user).exists()
    assert not_favicon(console_errors) == []


def test_a_u2f_security_key_is_a_second_factor(page: Page, make_user, console_errors):
    user = make_user(EMAIL)
    enable_2fa(user)
    virtual_authenticator(page, U2F_KEY)
    page.add_init_script(NO_AUTOFILL)

    log_in(page, EMAIL, code=code_for(SECRET))
    add_key(page, "Old U2F key")
    key = SecurityKey.objects.get(user=user)
    assert key.discoverable is not True  # no resident key: a second factor only

    log_out(page)
    log_in(page, EMAIL)
    page.get_by_role("button", name="Use security key").click()
    expect(page).to_have_url(re.compile(r"/profile/$"))
    assert not_favicon(console_errors) == []


def test_on_an_ip_address_the_page_says_why_keys_do_not_work(page: Page, live_server, make_user):
    make_user(EMAIL)
    virtual_authenticator(page, PASSKEY)
    page.goto(live_server.url.replace("localhost", "127.0.0.1") + "/login/")

    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page.locator("[data-webauthn-error][role=alert]")).to_contain_text(
        "not at an IP address"
    )
    fill_login(page, EMAIL)  # everything else still works there
    expect(page).to_have_url(re.compile(r"/profile/$"))


def test_the_autofill_renews_its_challenge_before_it_expires(page: Page, make_user, live_server):
    """The autofill's request waits while the page is open; its challenge lives five
    minutes, so the script asks for new options a little before, again and again."""
    make_user(EMAIL)
    virtual_authenticator(page, PASSKEY)
    asked = []
    page.on(
        "request",
        lambda request: (
            asked.append(request.url) if "/login/passkey/options/" in request.url else None
        ),
    )
    page.clock.install()
    page.goto(live_server.url + "/login/")
    page.wait_for_timeout(500)
    assert len(asked) == 1

    page.clock.run_for("04:40")
    page.wait_for_timeout(500)
    assert len(asked) == 2
    page.clock.run_for("04:40")
    page.wait_for_timeout(500)
    assert len(asked) == 3


def test_a_failure_is_an_alert_and_the_focus_returns_to_the_button(
    page: Page, make_user, live_server
):
    make_user(EMAIL)
    virtual_authenticator(page, PASSKEY)
    page.add_init_script(NO_AUTOFILL)
    page.goto(live_server.url + "/login/")
    page.route(
        "**/login/passkey/options/",
        lambda route: route.fulfill(
            status=400, content_type="application/json", body='{"error": "Refused for the test."}'
        ),
    )

    button = page.get_by_role("button", name="Sign in with a passkey")
    button.click()

    expect(page.locator("[data-webauthn-error][role=alert]")).to_have_text("Refused for the test.")
    expect(page.locator("[data-webauthn-status]")).to_have_text("")
    expect(button).to_be_focused()


def test_the_autofill_starts_again_after_a_failure(page: Page, make_user, live_server):
    make_user(EMAIL)
    virtual_authenticator(page, PASSKEY)
    asked = []

    def refuse_the_first(route):
        asked.append(route.request.url)
        if len(asked) == 1:
            route.fulfill(status=429, content_type="application/json", body='{"error": "Wait."}')
        else:
            route.continue_()

    page.route("**/login/passkey/options/", refuse_the_first)
    page.clock.install()
    page.goto(live_server.url + "/login/")
    page.wait_for_timeout(500)
    assert len(asked) == 1
    expect(page.locator("[data-webauthn-error][role=alert]")).to_have_text("Wait.")

    page.clock.run_for("00:11")
    page.wait_for_timeout(500)
    assert len(asked) == 2
