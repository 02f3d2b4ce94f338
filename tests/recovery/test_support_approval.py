"""Approving a case: the checks it needs, the second person, the cooling-off it starts."""

from datetime import timedelta

import pytest

from tests.recovery.conftest import (
    ADA,
    DELAY,
    Status,
    Type,
    act,
    approve,
    approve_with_a_second_person,
    ask_charles,
    case_events,
    confirm_as_owner,
    emails_to,
    file_request,
    last_email_path,
    page_messages,
)
from twostep.chat.models import Conversation
from twostep.mfa.models import TOTPDevice
from twostep.recovery import cases, decisions, intake, verification
from twostep.recovery.models import RecoveryCase, Vouch

# Approval.


def test_approval_is_refused_without_the_checklist(agent, verified_case):
    response = approve(agent, verified_case)

    assert page_messages(response) == ["Complete the verification checklist first."]
    assert verified_case.status == Status.IN_VERIFICATION


def test_approval_is_refused_with_a_wrong_typed_email(agent, checked_case):
    response = approve(agent, checked_case, typed_email="ada@example.org")

    assert page_messages(response) == ["Type the account's email address exactly to approve."]
    assert checked_case.status == Status.IN_VERIFICATION
    assert checked_case.reset_due_at is None
    assert not case_events(checked_case, Type.CASE_APPROVED)


def test_approval_without_a_reason_is_refused(agent, checked_case):
    response = act(agent, checked_case, "approve", typed_email="ada@example.com", reason="")

    assert page_messages(response) == ["Type the account's email and a reason."]
    assert checked_case.status == Status.IN_VERIFICATION


def test_agent_cannot_approve_a_case_about_their_own_account(agent, grace, make_user):
    make_user("ivan@example.com", full_name="Ivan", is_staff=True)  # another agent exists
    own = file_request(email=grace.email, name="Grace Hopper", organizations="")
    assert own is not None
    confirm_as_owner(own)
    # Another agent did the checks; Grace still may not approve her own reset.
    RecoveryCase.objects.filter(pk=own.pk).update(check_name=True, check_organizations=True)

    response = approve(agent, own, typed_email=grace.email)

    assert page_messages(response) == ["You cannot act on a case about your own account."]
    assert own.status == Status.IN_VERIFICATION
    assert "This case is about your own account" in response.text


def test_approval_is_refused_after_a_manager_denied(agent, charles, checked_case):
    ask_charles(agent, checked_case)
    verification.answer_vouch(
        manager=charles, vouch=Vouch.objects.get(), confirmed=False, comment="Not her voice."
    )

    response = approve(agent, checked_case)

    # The denial closed the case: there is nothing left to approve.
    assert page_messages(response) == ["Only a case in verification can be approved."]
    assert checked_case.status == Status.REJECTED


def test_approval_starts_the_cooling_off_and_mails_a_cancel_link(agent, grace, hedy, checked_case):
    decisions.approve(actor=hedy, case=checked_case, typed_email=ADA, reason="first look")

    response = approve(agent, checked_case, typed_email=" ADA@example.com ")

    assert page_messages(response) == [
        "Approved. The reset happens after the cooling-off period unless the owner cancels."
    ]
    assert checked_case.status == Status.APPROVED
    assert checked_case.approved_by == grace
    assert checked_case.approved_at is not None and checked_case.reset_due_at is not None
    assert checked_case.reset_due_at - checked_case.approved_at == timedelta(seconds=DELAY)
    email = emails_to("ada@example.com")[-1]
    assert email.subject == "A reset of your two-factor authentication was approved"
    assert (
        "A reset of your two-factor authentication was approved; if this was not you, cancel it"
        in email.body
    )
    assert last_email_path("ada@example.com", "recovery:cancel")
    # Nothing happens to the account yet.
    assert TOTPDevice.objects.filter(user=checked_case.account).exists()


def test_recovery_delay_comes_from_the_setting(settings, grace, hedy, checked_case):
    settings.TWOSTEP_RECOVERY_DELAY = 3600
    approve_with_a_second_person(checked_case, grace, hedy)

    checked_case.refresh_from_db()
    assert checked_case.reset_due_at - checked_case.approved_at == timedelta(hours=1)


def test_a_case_opened_from_the_chat_still_needs_the_mailbox_and_the_checks(grace, ada):
    conversation = Conversation.objects.create(
        user=ada, created_at=ada.date_joined, updated_at=ada.date_joined
    )
    case = intake.open_case_from_chat(
        actor=grace, conversation=conversation, note="Ada says she lost her phone."
    )

    assert case.status == Status.AWAITING_CONFIRMATION
    assert [email.to for email in emails_to(ada.email)] == [ada.email]
    with pytest.raises(cases.RecoveryError):
        decisions.approve(actor=grace, case=case, typed_email=ada.email, reason="she asked")
    (event,) = case_events(case, Type.CHAT_CASE_OPENED)
    assert (event.actor, event.details["reason"]) == (grace, "Ada says she lost her phone.")
