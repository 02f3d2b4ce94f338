"""Lockout recovery clicked through in a real Chromium: the locked-out person, the support
agent and the vouching manager each in their own browser context, the cooling-off passed
with time-machine, and 2FA turned on again at the end."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import enter_code, fill_login
from tests.helpers import add_membership, code_for, create_user, enable_2fa
from twostep.accounts.models import User
from twostep.mail.models import OutgoingEmail
from twostep.mfa.models import TOTPDevice
from twostep.recovery import intake, resets
from twostep.recovery.models import RecoveryCase, Vouch

pytestmark = pytest.mark.e2e

ORGANIZATION = "Analytical Engines"
LOST_SECRET = b"ada-lost-her-phone!!"
AGENT_SECRET = b"grace-hopper-phone!!"
MANAGER_SECRET = b"charles-babbage-app!"


def mailed_link(to: str, subject: str, path: str) -> str:
    """The link to `path` in the latest email to `to` with `subject`."""
    email = OutgoingEmail.objects.filter(to=to, subject=subject).order_by("-id").first()
    assert email is not None, f"no email {subject!r} to {to}"
    links = re.findall(rf"https?://\S+{re.escape(path)}\S*", email.body)
    assert len(links) == 1, email.body
    return links[0]


def test_locked_out_person_gets_back_in_after_support_verifies_and_vouching(
    page: Page, new_page, live_server, settings, authenticator, time_machine
):
    settings.TWOSTEP_SITE_URL = live_server.url
    ada = create_user("ada@example.com", "Ada Lovelace")
    enable_2fa(ada, LOST_SECRET)
    add_membership(ada, ORGANIZATION)
    grace = create_user("grace@example.com", "Grace Hopper", is_staff=True)
    enable_2fa(grace, AGENT_SECRET)
    charles = create_user("charles@example.com", "Charles Babbage")
    enable_2fa(charles, MANAGER_SECRET)
    add_membership(charles, ORGANIZATION, role="manager")

    # Ada lost her phone: the password is right, the code she cannot give.
    page.goto("/login/")
    fill_login(page, ada.email)
    expect(page).to_have_url(re.compile(r"/login/code/$"))
    page.get_by_role("link", name="Lost access to your authenticator app?").click()
    expect(page).to_have_url(re.compile(r"/recover/$"))
    page.get_by_label("Your account's email address").fill(ada.email)
    page.get_by_label("Your full name").fill("Ada Lovelace")
    page.get_by_label("The organization(s) you manage or work with").fill(ORGANIZATION)
    page.get_by_label("What happened?").fill("I lost my phone on the train.")
    page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_test_id("recovery-answer")).to_have_text(intake.SAME_ANSWER)
    intake.process_requests()  # the worker's next pass
    case = RecoveryCase.objects.get()
    assert case.status == RecoveryCase.Status.AWAITING_CONFIRMATION

    # The link in her own mailbox confirms the request; the case link shows its progress.
    subject = "Confirm your request to reset two-factor authentication"
    page.goto(mailed_link(ada.email, subject, "/recover/confirm/"))
    page.get_by_role("button", name="Yes, this request is mine").click()
    expect(page.get_by_role("heading", name="Thank you, your request is confirmed")).to_be_visible()
    case_link = mailed_link(ada.email, subject, "/case/")
    page.goto(case_link)
    expect(page.get_by_test_id("case-status")).to_have_text("In verification")
    page.get_by_label("Your message").fill("My manager Charles can confirm it is me.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("My manager Charles can confirm it is me.")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_count(0)  # never logged in

    # Grace, support agent, logs in with her password and code and opens the case.
    agent = new_page()
    agent.goto("/support/")
    expect(agent).to_have_url(re.compile(r"/login/\?next=/support/$"))
    fill_login(agent, grace.email)
    enter_code(agent, code_for(AGENT_SECRET))
    expect(agent).to_have_url(re.compile(r"/support/$"))
    row = agent.get_by_test_id("case-queue").locator("tbody tr").filter(has_text=ada.email)
    expect(row).to_contain_text("In verification")
    row.get_by_role("link", name=f"#{case.pk}").click()
    comparison = agent.get_by_test_id("comparison")
    expect(comparison.locator("tr.match").filter(has_text="Name")).to_contain_text("Ada Lovelace")
    expect(comparison.locator(".tag.ok").first).to_have_text(ORGANIZATION)
    expect(agent.get_by_text("My manager Charles can confirm it is me.")).to_be_visible()

    checklist = agent.locator("#checklist")
    checklist.get_by_label("The name matches the account").check()
    checklist.get_by_label("The organizations match the memberships").check()
    checklist.get_by_label("Evidence notes").fill("Knew the last invoice number.")
    checklist.get_by_role("button", name="Save the verification").click()
    expect(agent.get_by_role("status").filter(has_text="Verification recorded.")).to_be_visible()

    vouching = agent.locator("#vouching")
    vouching.get_by_label("Ask this manager to vouch").select_option(
        label=f"Charles Babbage <{charles.email}> — manager of {ORGANIZATION}"
    )
    vouching.get_by_role("button", name="Ask to vouch").click()
    expect(agent.get_by_text("Charles Babbage was asked to vouch.")).to_be_visible()
    expect(agent.get_by_test_id("vouch")).to_contain_text("Waiting for an answer")

    # Charles follows the emailed link, logs in with password and code, and confirms.
    manager = new_page()
    manager.goto(mailed_link(charles.email, "Can you vouch for Ada Lovelace?", "/vouch/"))
    fill_login(manager, charles.email)
    enter_code(manager, code_for(MANAGER_SECRET))
    expect(manager).to_have_url(re.compile(r"/vouch/\d+/$"))
    manager.get_by_label("Yes, I confirm this is them and that they lost access").check()
    manager.get_by_label("Comment (optional)").fill("She called me from her new phone.")
    manager.get_by_role("button", name="Send my answer").click()
    expect(manager.get_by_test_id("vouch-answer")).to_have_text("Your answer: Confirmed.")
    assert Vouch.objects.get().answer == Vouch.Answer.CONFIRMED

    # Grace sees the answer and approves by typing Ada's address.
    agent.reload()
    expect(agent.get_by_test_id("vouch")).to_contain_text("Confirmed")
    expect(agent.get_by_test_id("vouch")).to_contain_text("She called me from her new phone.")
    approval = agent.locator("#approve")
    approval.get_by_label("Type the account's email address to confirm").fill(ada.email)
    approval.get_by_label("Reason").fill("Mailbox confirmed, checklist done, manager vouched.")
    approval.get_by_role("button", name="Approve the reset").click()
    expect(agent.get_by_text("Approved. The reset happens after the cooling-off")).to_be_visible()
    case.refresh_from_db()
    assert case.status == RecoveryCase.Status.APPROVED
    assert TOTPDevice.objects.filter(user=ada).exists()  # not yet: the cooling-off runs
    page.goto(case_link)
    expect(page.get_by_test_id("case-status")).to_have_text("Approved, waiting")

    # The cooling-off passes (for the live server too); the worker carries out the reset.
    time_machine.move_to(datetime.now(UTC) + timedelta(hours=24, minutes=1), tick=True)
    assert resets.perform_due_resets() == 1
    assert not TOTPDevice.objects.filter(user=ada).exists()

    # Ada logs in with her password only and is asked to turn 2FA on again.
    page.goto("/login/")
    fill_login(page, ada.email)
    expect(page).to_have_url(re.compile(r"/welcome-back/\?next="))
    expect(page.get_by_text("strongly recommend re-enabling 2FA")).to_be_visible()
    expect(page.get_by_role("link", name="Skip for now")).to_be_visible()
    page.get_by_role("button", name="Enable Two-Factor Authentication").click()
    expect(page).to_have_url(re.compile(r"/settings/2fa/setup/$"))
    key = page.get_by_test_id("manual-key").inner_text().replace(" ", "")
    enter_code(page, authenticator(key, datetime.now(UTC)), "Confirm and turn on")
    expect(page.get_by_role("status")).to_have_text("Two-factor authentication is now active.")

    device = TOTPDevice.objects.get(user=ada)
    assert device.is_active
    assert device.secret() != LOST_SECRET
    assert User.objects.get(pk=ada.pk).mfa_reset_at is None
    case.refresh_from_db()
    assert case.status == RecoveryCase.Status.DONE
