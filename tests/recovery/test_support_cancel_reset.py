"""After approval: cancelling, the reset at the end of the cooling-off, the audit trail."""

from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.helpers import (
    confirm_again,
    give_recovery_codes,
    log_in,
    submit_password,
    verified_session,
)
from tests.recovery.conftest import (
    DELAY,
    QUEUE,
    Status,
    Type,
    act,
    approve,
    ask_charles,
    case_events,
    case_url,
    emails_to,
    file_request,
    last_email_path,
    open_link,
    page_messages,
)
from twostep.accounts.models import User, UserSession
from twostep.mfa.models import LOCK_AFTER, MfaState, TOTPDevice
from twostep.recovery import resets, verification
from twostep.recovery.models import Vouch

# Cancelling.


def test_cancel_link_shows_a_button_and_get_changes_nothing(client, approved_case):
    path = last_email_path("ada@example.com", "recovery:cancel")

    page = client.get(path, follow=True)

    assert page.status_code == 200
    assert "Cancel the reset" in page.text and '<form method="post">' in page.text
    approved_case.refresh_from_db()
    assert approved_case.status == Status.APPROVED


def test_cancel_link_stops_the_reset(client, approved_case, frozen):
    path = last_email_path("ada@example.com", "recovery:cancel")

    page = client.post(open_link(client, path))

    assert page.status_code == 200
    assert "The reset is cancelled" in page.text
    approved_case.refresh_from_db()
    assert approved_case.status == Status.CANCELLED
    (event,) = case_events(approved_case, Type.CASE_CANCELLED)
    assert event.subject == approved_case.account
    assert event.details["reason"] == "cancelled by the owner from the email link"
    frozen.shift(DELAY + 60)
    assert resets.perform_due_resets() == 0
    assert TOTPDevice.objects.filter(user=approved_case.account, confirmed_at__isnull=False)
    assert client.post(path).status_code == 404  # the link is spent


def test_a_login_with_2fa_by_the_owner_cancels_the_reset(client, ada, approved_case, frozen):
    log_in(client, ada)

    approved_case.refresh_from_db()
    assert approved_case.status == Status.CANCELLED
    (event,) = case_events(approved_case, Type.CASE_CANCELLED)
    assert (event.actor, event.details["reason"]) == (ada, "the owner logged in with 2FA")
    frozen.shift(DELAY + 60)
    assert resets.perform_due_resets() == 0
    assert TOTPDevice.objects.filter(user=ada).exists()


def test_agent_can_reject_an_approved_case(agent, grace, approved_case, frozen):
    response = act(agent, approved_case, "reject", reason="The owner called: not her.")

    assert page_messages(response) == ["The case is rejected."]
    assert approved_case.status == Status.REJECTED
    frozen.shift(DELAY + 60)
    assert resets.perform_due_resets() == 0


# The reset.


def test_reset_waits_for_the_cooling_off(approved_case, frozen):
    frozen.shift(DELAY - 1)

    assert resets.perform_due_resets() == 0
    approved_case.refresh_from_db()
    assert approved_case.status == Status.APPROVED
    assert TOTPDevice.objects.filter(user=approved_case.account).exists()


def test_reset_after_the_cooling_off_removes_2fa_and_ends_every_session(
    ada, grace, approved_case, frozen
):
    MfaState.objects.filter(user=ada).update(failure_count=LOCK_AFTER)  # the lock
    phone, laptop = Client(), Client()
    phone.force_login(ada)
    laptop.force_login(ada)
    assert phone.get("/profile/").status_code == 200
    agents_session = verified_session(Client(), grace)
    frozen.shift(DELAY + 1)

    assert resets.perform_due_resets() == 1

    assert not TOTPDevice.objects.filter(user=ada).exists()  # device and lock are gone
    assert MfaState.objects.filter(user=ada, methods=0, failure_count=0).exists()
    for client in (phone, laptop):
        response = client.get("/profile/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login:login"))
    assert not UserSession.objects.filter(user=ada).exists()
    assert agents_session.get(QUEUE).status_code == 200  # others stay logged in
    owner = User.objects.get(pk=ada.pk)
    assert owner.mfa_reset_at is not None
    approved_case.refresh_from_db()
    assert approved_case.status == Status.DONE
    email = emails_to(ada.email)[-1]
    assert email.subject == "Your two-factor authentication was reset"
    assert "http://testserver/login/" in email.body
    (event,) = case_events(approved_case, Type.MFA_RESET)
    assert (event.actor, event.subject) == (grace, owner)
    assert event.details["sessions_ended"] == 2
    assert event.details["reason"]
    assert resets.perform_due_resets() == 0  # done once


def test_worker_command_performs_due_resets(ada, approved_case, frozen):
    frozen.shift(DELAY + 1)

    call_command("worker")

    approved_case.refresh_from_db()
    assert approved_case.status == Status.DONE
    assert not TOTPDevice.objects.filter(user=ada).exists()


def test_a_cancelled_case_is_never_reset(approved_case, frozen):
    resets.cancel(case=approved_case, reason="owner asked by phone")
    frozen.shift(DELAY * 7)

    assert resets.perform_due_resets() == 0
    approved_case.refresh_from_db()
    assert approved_case.status == Status.CANCELLED
    assert TOTPDevice.objects.filter(user=approved_case.account).exists()
    assert not case_events(approved_case, Type.MFA_RESET)


# The audit trail.


def test_every_support_action_names_actor_subject_case_and_reason(
    agent, grace, charles, ada, verified_case, frozen
):
    agent.get(case_url(verified_case))
    act(agent, verified_case, "assign")
    act(
        agent,
        verified_case,
        "checklist",
        name_matches="on",
        organizations_match="on",
        evidence="Knew her invoice number.",
    )
    ask_charles(agent, verified_case)
    verification.answer_vouch(
        manager=charles, vouch=Vouch.objects.get(), confirmed=True, comment="I know her."
    )
    approve(agent, verified_case)
    frozen.shift(DELAY + 1)
    resets.perform_due_resets()
    other = file_request(explanation="Again?")
    assert other is not None
    confirm_again(agent)  # a day later: the agent confirms it's them before deciding
    act(agent, other, "reject", reason="Already reset yesterday.")

    expected = {
        Type.CASE_VIEWED: (verified_case, None),
        Type.CASE_ASSIGNED: (verified_case, None),
        Type.CASE_NOTE: (verified_case, "Knew her invoice number."),
        Type.VOUCH_REQUESTED: (verified_case, None),
        Type.CASE_APPROVED: (verified_case, "checked by phone"),
        Type.MFA_RESET: (verified_case, "approved recovery case, cooling-off passed"),
        Type.CASE_REJECTED: (other, "Already reset yesterday."),
    }
    for type, (case, reason) in expected.items():
        events = case_events(case, type)
        assert events, f"no {type} event"
        for event in events:
            assert event.actor == grace, type
            assert event.subject == ada, type
            assert "reason" in event.details, type
            if reason is not None:
                assert event.details["reason"] == reason, type


def test_a_login_with_a_recovery_code_by_the_owner_cancels_the_reset(
    client, ada, approved_case, frozen
):
    codes = give_recovery_codes(ada)
    submit_password(client, ada.email)
    response = client.post("/login/code/?method=recovery", {"recovery_code": codes[0]})
    assert response.status_code == 302

    approved_case.refresh_from_db()
    assert approved_case.status == Status.CANCELLED
    (event,) = case_events(approved_case, Type.CASE_CANCELLED)
    assert (event.actor, event.details["reason"]) == (ada, "the owner logged in with 2FA")
