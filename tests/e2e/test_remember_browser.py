"""'Don't ask for a code on this browser', clicked through in a real Chromium: one browser
context is remembered and logs in again with the password only; another context still gets
the second step; once the first browser is forgotten from the second, it is asked for the
code again. Codes come from the known secret, each from its own time step."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, enter_code, fill_login, log_in
from tests.helpers import code_for, create_user, enable_2fa

pytestmark = pytest.mark.e2e

EMAIL = "ada@example.com"


def log_out(page: Page) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_role("navigation", name="Account").get_by_role("button", name="Log out").click()


def expect_logged_in(page: Page) -> None:
    expect(page.get_by_role("heading", name="My Profile")).to_be_visible()


def expect_second_step(page: Page) -> None:
    expect(page.get_by_test_id("second-step")).to_be_visible()


def test_a_remembered_browser_skips_the_code_until_it_is_forgotten(new_page):
    enable_2fa(create_user(EMAIL, "Ada Lovelace"))
    laptop, phone = new_page(), new_page(PHONE)

    # The laptop logs in with its code and ticks the box.
    log_in(laptop, EMAIL)
    expect_second_step(laptop)
    laptop.get_by_label(re.compile("Don't ask for a code on this browser for 30 days")).check()
    enter_code(laptop, code_for())
    expect_logged_in(laptop)

    # Logged out and in again: the password is enough on this browser.
    log_out(laptop)
    log_in(laptop, EMAIL)
    expect_logged_in(laptop)

    # Another browser still gets the second step.
    log_in(phone, EMAIL)
    expect_second_step(phone)
    enter_code(phone, code_for(steps=1))
    expect_logged_in(phone)

    # The phone lists the laptop and forgets it (by keyboard, at 360 px).
    phone.goto("/settings/sessions/")
    browsers = phone.get_by_test_id("remembered-browser")
    expect(browsers).to_have_count(1)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    forget = phone.get_by_role("button", name=re.compile(r"Forget this browser \("))
    forget.focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("status")).to_contain_text("asked for a code again")
    expect(phone.get_by_test_id("remembered-browser")).to_have_count(0)

    # The laptop is asked for the code again.
    log_out(laptop)
    laptop.goto("/login/")
    fill_login(laptop, EMAIL)
    expect_second_step(laptop)
