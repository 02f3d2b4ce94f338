"""The chat in a real Chromium: each side sees the other's new messages without a reload,
under the site's Content-Security-Policy."""

import re
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import log_in
from tests.helpers import add_membership, code_for, enable_2fa
from twostep.chat import services

pytestmark = pytest.mark.e2e

# A poll every 3 s: a message shows within one or two of them.
POLL_WAIT_MS = 10_000


@pytest.fixture
def open_page(browser, live_server) -> Iterator:
    """open_page(console): a page in a fresh context (no cookies) whose console messages and
    page errors go to `console`. The contexts close before the browser does."""
    contexts = []

    def open_one(console: list[str]):
        context = browser.new_context(base_url=live_server.url)
        contexts.append(context)
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on(
            "console",
            lambda message: console.append(
                f"{message.type}: {message.text} ({message.location.get('url', '')})"
            ),
        )
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        return page

    yield open_one
    for context in contexts:
        context.close()


def mark_no_reload(page) -> None:
    """A flag that only lives as long as this document: a reload would drop it."""
    page.evaluate("window.__stillTheSamePage = true")


def still_the_same_page(page) -> bool:
    return page.evaluate("window.__stillTheSamePage === true")


def test_each_side_sees_new_messages_without_a_reload_under_the_csp(open_page, make_user):
    from playwright.sync_api import expect

    person = make_user("ada@example.com", "Ada Lovelace")
    add_membership(person, "Analytical Engines", role="manager")
    agent = make_user("grace@example.com", "Grace Hopper", is_staff=True)
    enable_2fa(agent)
    console: list[str] = []

    # The person opens "Need help?" from the header and writes.
    ada = open_page(console)
    log_in(ada, person.email)
    ada.wait_for_url(re.compile(r"/profile/$"))
    ada.get_by_test_id("need-help").click()
    ada.wait_for_url(re.compile(r"/help/$"))
    ada.get_by_label("Your message").fill("I lost my phone <b>help</b>")
    ada.get_by_role("button", name="Send").click()
    thread = ada.locator("[data-chat-messages]")
    expect(thread).to_contain_text("I lost my phone <b>help</b>")
    conversation = services.conversation_for_user(user=person)
    assert conversation is not None

    # Support opens the conversation; the person's next message appears there by polling.
    grace = open_page(console)
    log_in(grace, agent.email, code=code_for())
    grace.wait_for_url(re.compile(r"/profile/$"))
    grace.goto(f"/support/chats/{conversation.pk}/")
    expect(grace.get_by_test_id("account-summary")).to_contain_text("Analytical Engines")
    mark_no_reload(grace)
    services.post_for_user(user=person, body="Are you there?")
    expect(grace.locator("[data-chat-messages]")).to_contain_text(
        "Are you there?", timeout=POLL_WAIT_MS
    )
    assert still_the_same_page(grace)

    # Support answers (through the service, as the console would); the person's open page
    # shows it, as text, without a reload.
    mark_no_reload(ada)
    services.post(
        conversation=conversation,
        body="Yes! <img src=x onerror=alert(1)> Let's open a case.",
        author=agent,
        from_support=True,
    )
    answer = thread.locator(".chat-message", has_text="Let's open a case.")
    expect(answer).to_be_visible(timeout=POLL_WAIT_MS)
    expect(answer.locator(".chat-body")).to_have_text(
        "Yes! <img src=x onerror=alert(1)> Let's open a case."
    )
    expect(answer.locator(".chat-author")).to_have_text("Support")
    expect(thread.locator("img")).to_have_count(0)
    assert still_the_same_page(ada)

    csp = [line for line in console if "Content Security Policy" in line or "Refused to" in line]
    assert csp == [], csp
    errors = [
        line
        for line in console
        if line.startswith(("error", "pageerror")) and not line.endswith("/favicon.ico)")
    ]
    assert errors == [], errors
