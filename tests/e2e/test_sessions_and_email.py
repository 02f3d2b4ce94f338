"""Sessions and the email change clicked through in a real Chromium: two browsers logged in,
one ends the other, which is logged out on its next request; the email changed end to end
with the links read from the outgoing mail, then cancelled from the old address."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, log_in
from tests.helpers import create_user
from twostep.accounts.models import User
from twostep.mail.models import OutgoingEmail
from twostep.recovery.models import RecoveryCase

pytestmark = pytest.mark.e2e


def mailed_link(to: str, path: str) -> str:
    email = OutgoingEmail.objects.filter(to=to, body__contains=path).order_by("-id").first()
    assert email is not None, f"no email to {to} with a {path} link"
    links = re.findall(rf"https?://\S+{re.escape(path)}\S*", email.body)
    assert len(links) == 1, email.body
    return links[0]


def test_ending_a_session_from_another_browser_logs_it_out(new_page, live_server, settings):
    settings.TWOSTEP_SITE_URL = live_server.url
    create_user("ada@example.com", "Ada Lovelace")
    laptop, phone = new_page(), new_page(PHONE)
    log_in(laptop, "ada@example.com")
    log_in(phone, "ada@example.com")
    expect(phone.get_by_role("heading", name="My Profile")).to_be_visible()

    phone.goto("/settings/")
    phone.get_by_role("link", name=re.compile("See every browser")).click()
    sessions = phone.get_by_test_id("session")
    expect(sessions).to_have_count(2)
    expect(sessions.first).to_contain_text("this browser")
    # At 360 px nothing is wider than the screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # By keyboard: the other session's button is reachable and pressed with Enter.
    end = phone.get_by_role("button", name=re.compile(r"End this session \("))
    end.focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("status")).to_contain_text("that browser is logged out")
    expect(phone.get_by_test_id("session")).to_have_count(1)

    laptop.goto("/profile/")
    expect(laptop).to_have_url(re.compile(r"/login/"))


def test_log_out_everywhere_else(new_page, live_server):
    create_user("ada@example.com", "Ada Lovelace")
    one, two, three = new_page(), new_page(), new_page()
    for page in (one, two, three):
        log_in(page, "ada@example.com")

    one.goto("/settings/sessions/")
    one.get_by_role("button", name="Log out everywhere else").click()
    expect(one.get_by_role("status")).to_contain_text("2 other sessions")

    for page in (two, three):
        page.goto("/settings/")
        expect(page).to_have_url(re.compile(r"/login/"))
    one.goto("/settings/")
    expect(one.get_by_role("heading", name="Settings", exact=True)).to_be_visible()


def test_changing_the_email_end_to_end_then_cancelling_it(
    new_page, live_server, settings, console_errors, page
):
    settings.TWOSTEP_SITE_URL = live_server.url
    create_user("ada@example.com", "Ada Lovelace")
    log_in(page, "ada@example.com")

    page.goto("/profile/")
    page.get_by_role("link", name="Change email").click()
    page.get_by_label("New email address").fill("ada@analytical.example")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("We sent a link to ada@analytical.example")

    # The new mailbox opens its link in another browser and presses the button.
    mailbox = new_page(PHONE)
    mailbox.goto(mailed_link("ada@analytical.example", "/email/confirm/"))
    mailbox.get_by_role("button", name="Use this address").click()
    assert User.objects.get().email == "ada@analytical.example"
    page.goto("/profile/")
    expect(page.get_by_text("ada@analytical.example")).to_be_visible()

    # The old mailbox was told; its link undoes the change, signs out everywhere, opens a case.
    old_mailbox = new_page()
    old_mailbox.goto(mailed_link("ada@example.com", "/email/cancel/"))
    old_mailbox.get_by_role("button", name="Cancel the change").click()
    expect(old_mailbox.get_by_test_id("change-cancelled")).to_contain_text("ada@example.com")
    assert User.objects.get().email == "ada@example.com"
    assert RecoveryCase.objects.filter(source="change").exists()
    page.goto("/profile/")
    expect(page).to_have_url(re.compile(r"/login/"))

    # The same link again: a clear message, nothing changed.
    old_mailbox.goto(mailed_link("ada@example.com", "/email/cancel/"))
    expect(old_mailbox.get_by_test_id("link-problem")).to_be_visible()
    assert console_errors == []
