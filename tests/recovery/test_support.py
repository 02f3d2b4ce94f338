"""The support console and the life of a case: access, queue, case page, checklist,
vouching, approval, cooling-off, cancellation, the reset, the audit trail and the
person's case link."""

import base64
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.timezone import localtime

from tests.conftest import PASSWORD, SECRET, add_membership, code_for, enable_2fa
from tests.recovery.conftest import (
    ORGANIZATION,
    approve_with_a_second_person,
    case_events,
    confirm_as_owner,
    emails_to,
    file_request,
    last_email_path,
    log_in,
    mailed_path,
    open_link,
    verified_session,
)
from twostep.accounts.models import User, UserSession
from twostep.audit.models import SecurityEvent
from twostep.chat.models import Conversation, Message
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import deliver_due
from twostep.mfa.models import LOCK_AFTER, TOTPDevice
from twostep.recovery import cases, decisions, services, support
from twostep.recovery.models import RecoveryCase, Vouch

Status = RecoveryCase.Status
Type = SecurityEvent.Type
QUEUE = "/support/"
DELAY = 24 * 60 * 60
ADA = "ada@example.com"
DAY = 24 * 60 * 60


def case_url(case: RecoveryCase) -> str:
    return reverse("recovery:case_detail", kwargs={"pk": case.pk})


def action_url(case: RecoveryCase, action: str) -> str:
    return reverse("recovery:support_case_action", kwargs={"pk": case.pk, "action": action})


def act(client: Client, case: RecoveryCase, action: str, **data):
    """POST a support action and follow the redirect back to the case page."""
    response = client.post(action_url(case, action), data, follow=True)
    assert response.redirect_chain == [(case_url(case), 302)]
    case.refresh_from_db()
    return response


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def approve(client: Client, case: RecoveryCase, typed_email: str = "ada@example.com"):
    return act(client, case, "approve", typed_email=typed_email, reason="checked by phone")


# Who may use the console.


def test_anonymous_visitor_is_sent_to_the_login_page(client, db):
    response = client.get(QUEUE)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={QUEUE}"


def test_staff_without_2fa_is_refused(client, make_user):
    verified_session(client, make_user("staff@example.com", is_staff=True))

    assert client.get(QUEUE).status_code == 403


def test_non_staff_with_2fa_is_refused(client, charles):
    verified_session(client, charles)

    assert client.get(QUEUE).status_code == 403


def test_staff_with_2fa_whose_session_skipped_the_code_is_refused(client, grace):
    client.force_login(grace)  # a session not marked as having passed the second factor

    assert client.get(QUEUE).status_code == 403


def test_staff_logged_in_with_password_and_code_gets_the_console(client, grace):
    log_in(client, grace)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert "Recovery cases" in response.text


def test_case_page_and_actions_are_refused_to_non_agents(client, charles, verified_case):
    verified_session(client, charles)

    assert client.get(case_url(verified_case)).status_code == 403
    assert client.post(action_url(verified_case, "assign")).status_code == 403
    verified_case.refresh_from_db()
    assert verified_case.assignee is None
    assert not case_events(verified_case, Type.CASE_VIEWED)


# The queue and the case page.


def test_queue_shows_each_open_case_with_status_age_and_assignee(agent, grace, make_user, frozen):
    add_membership(make_user(), ORGANIZATION)
    first = file_request()
    frozen.shift(3 * 60 * 60)
    make_user("bob@example.com", full_name="Bob Byron")
    second = file_request(email="bob@example.com", name="Bob Byron")
    assert first is not None and second is not None
    confirm_as_owner(second)
    support.assign(actor=grace, case=first)

    response = agent.get(QUEUE)

    rows = {case.pk: case for case in response.context["cases"]}
    assert set(rows) == {first.pk, second.pk}
    text = response.text
    assert "Awaiting email confirmation" in text and "In verification" in text
    assert "3\xa0hours" in text  # the first case's age
    assert "Grace Hopper" in text  # its assignee
    assert f'href="{case_url(first)}"' in text and f'href="{case_url(second)}"' in text


def test_queue_filters_by_status(agent, grace, case):
    decisions.reject(actor=grace, case=case, reason="not her")

    assert list(agent.get(QUEUE).context["cases"]) == []
    assert list(agent.get(QUEUE, {"status": "rejected"}).context["cases"]) == [case]


def test_case_page_compares_the_claim_with_the_account(client, grace, ada, frozen):
    add_membership(ada, "Difference Engines")
    ada.last_login = last_login = ada.date_joined + timedelta(days=3)
    ada.save(update_fields=["last_login"])
    frozen.shift(40 * 24 * 60 * 60)
    case = file_request(name="  ada   LOVELACE ", organizations="Analytical Engines, Evil Corp")
    assert case is not None
    confirm_as_owner(case)
    agent = verified_session(client, grace)

    response = agent.get(case_url(case))

    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert comparison.name_matches
    assert comparison.matched_organizations == ["Analytical Engines"]
    assert comparison.unmatched_claims == ["Evil Corp"]
    assert [m.organization.name for m in comparison.other_memberships] == ["Difference Engines"]
    text = response.text
    assert '<tr class="match"><th>Name</th>' in text
    assert '<span class="tag ok">Analytical Engines</span>' in text
    assert '<span class="tag bad" title="not a membership">Evil Corp</span>' in text
    assert "Difference Engines (member)" in text
    assert "confirmed" in text  # the mailbox row
    assert "<dt>Account age</dt><dd>1\xa0month" in text
    assert f"<dt>Last login</dt><dd>{date_format(localtime(last_login), 'j M Y, H:i')}" in text
    assert "2FA recovery requested" in text  # recent security events
    assert "Recovery request confirmed by email" in text


def test_case_page_flags_a_name_that_does_not_match(agent, ada):
    case = file_request(name="Mallory Moriarty")
    assert case is not None
    assert "not confirmed yet" in agent.get(case_url(case)).text
    confirm_as_owner(case)

    response = agent.get(case_url(case))

    assert not response.context["comparison"].name_matches
    assert '<tr class="mismatch"><th>Name</th><td>Mallory Moriarty</td>' in response.text


def test_case_page_never_shows_the_secret(agent, verified_case):
    response = agent.get(case_url(verified_case))

    device = TOTPDevice.objects.get(user=verified_case.account)
    assert base64.b32encode(SECRET).decode() not in response.text
    assert SECRET.decode() not in response.text
    assert device.encrypted_secret not in response.text


def test_viewing_a_case_is_recorded(agent, grace, verified_case):
    agent.get(case_url(verified_case))

    (event,) = case_events(verified_case, Type.CASE_VIEWED)
    assert (event.actor, event.subject) == (grace, verified_case.account)
    assert "reason" in event.details


def test_invalid_case_number_is_404(agent, db):
    assert agent.get(reverse("recovery:case_detail", kwargs={"pk": 999})).status_code == 404


# The checklist.


def test_checklist_records_the_agents_verification(agent, grace, verified_case):
    act(
        agent,
        verified_case,
        "checklist",
        name_matches="on",
        organizations_match="on",
        evidence="Called her; she knew the last invoice number.",
    )

    assert verified_case.check_name and verified_case.check_organizations
    assert verified_case.evidence == "Called her; she knew the last invoice number."
    assert verified_case.verified_by == grace
    assert verified_case.checklist_complete
    (note,) = case_events(verified_case, Type.CASE_NOTE)
    assert note.actor == grace
    assert note.details["reason"] == "Called her; she knew the last invoice number."


def test_checklist_cannot_be_ticked_before_the_mailbox_is_confirmed(agent, case):
    response = act(agent, case, "checklist", name_matches="on", organizations_match="on")

    assert page_messages(response) == ["Only a case in verification can be checked."]
    assert not case.check_name
    assert not case_events(case, Type.CASE_NOTE)


def test_oversized_evidence_is_refused_and_changes_nothing(agent, verified_case):
    response = act(agent, verified_case, "checklist", name_matches="on", evidence="x" * 5001)

    assert page_messages(response) == ["The evidence notes are too long."]
    assert not verified_case.check_name
    assert verified_case.evidence == ""


def test_unknown_action_is_404(agent, verified_case):
    assert agent.post(action_url(verified_case, "reset-now")).status_code == 404


def test_actions_need_post(agent, verified_case):
    assert agent.get(action_url(verified_case, "approve")).status_code == 405


# Vouching.


def ask_charles(agent: Client, case: RecoveryCase):
    membership = support.vouch_candidates(case)[0]
    return act(agent, case, "vouch", membership=str(membership.pk))


def test_vouch_request_emails_the_manager_a_link(agent, grace, charles, verified_case):
    response = ask_charles(agent, verified_case)

    assert page_messages(response) == ["Charles Babbage was asked to vouch."]
    vouch = Vouch.objects.get()
    assert (vouch.manager, vouch.requested_by, vouch.answer) == (charles, grace, "pending")
    (email,) = emails_to(charles.email)
    assert email.subject == "Can you vouch for Ada Lovelace?"
    assert f"http://testserver/vouch/{vouch.pk}/" in email.body
    (event,) = case_events(verified_case, Type.VOUCH_REQUESTED)
    assert (event.actor, event.subject) == (grace, verified_case.account)
    assert event.details["manager"] == charles.email


def test_manager_logged_in_with_2fa_confirms_and_support_sees_it(
    agent, charles, verified_case, frozen
):
    ask_charles(agent, verified_case)
    vouch = Vouch.objects.get()
    manager = Client()

    # The emailed link leads through the login (password, then code) back to the question.
    link = f"/vouch/{vouch.pk}/"
    assert manager.get(link)["Location"] == f"/login/?next={link}"
    manager.post("/login/", {"email": charles.email, "password": PASSWORD, "next": link})
    landed = manager.post("/login/code/", {"code": code_for(SECRET)})
    assert landed["Location"] == link
    question = manager.get(link)
    assert question.status_code == 200
    assert "Can you vouch for Ada Lovelace?" in question.text

    answered = manager.post(
        link, {"answer": "confirm", "comment": "Saw her at the office today."}, follow=True
    )

    assert "Your answer: Confirmed." in answered.text
    vouch.refresh_from_db()
    assert vouch.answer == Vouch.Answer.CONFIRMED
    (event,) = case_events(verified_case, Type.VOUCH_ANSWERED)
    assert (event.actor, event.details["answer"]) == (charles, "confirmed")
    assert event.details["reason"] == "Saw her at the office today."
    case_page = agent.get(case_url(verified_case))
    assert "Charles Babbage (Analytical Engines): <strong>Confirmed</strong>" in case_page.text
    assert "Saw her at the office today." in case_page.text


def test_manager_without_a_2fa_verified_session_gets_403(agent, charles, verified_case):
    ask_charles(agent, verified_case)
    manager = Client()
    manager.force_login(charles)

    response = manager.get(f"/vouch/{Vouch.objects.get().pk}/")

    assert response.status_code == 403
    manager.post(f"/vouch/{Vouch.objects.get().pk}/", {"answer": "confirm"})
    assert Vouch.objects.get().answer == Vouch.Answer.PENDING


def test_manager_without_2fa_at_all_gets_403(agent, make_user, verified_case):
    dora = make_user("dora@example.com", full_name="Dora Manager")
    add_membership(dora, ORGANIZATION, role="manager")
    act(agent, verified_case, "vouch", membership=str(dora.memberships.get().pk))
    manager = Client()
    manager.force_login(dora)  # password only: she has no authenticator

    assert manager.get(f"/vouch/{Vouch.objects.get().pk}/").status_code == 403


def test_a_vouch_asked_of_someone_else_is_404(agent, charles, verified_case, make_user):
    ask_charles(agent, verified_case)
    eve = make_user("eve@example.com", full_name="Eve")
    enable_2fa(eve)
    other = verified_session(Client(), eve)

    assert other.get(f"/vouch/{Vouch.objects.get().pk}/").status_code == 404
    other.post(f"/vouch/{Vouch.objects.get().pk}/", {"answer": "confirm"})
    assert Vouch.objects.get().answer == Vouch.Answer.PENDING


def test_only_a_manager_of_the_persons_organizations_can_be_asked(agent, make_user, verified_case):
    outsider = make_user("olga@example.com", full_name="Olga")
    membership = add_membership(outsider, "Other Org", role="manager")
    colleague = make_user("mike@example.com", full_name="Mike")
    member = add_membership(colleague, ORGANIZATION, role="member")

    for candidate in (membership, member):
        response = act(agent, verified_case, "vouch", membership=str(candidate.pk))
        assert page_messages(response) == ["Choose a manager from the list."]
    assert not Vouch.objects.exists()


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
    support.answer_vouch(
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
    assert services.perform_due_resets() == 0
    assert TOTPDevice.objects.filter(user=approved_case.account, confirmed_at__isnull=False)
    assert client.post(path).status_code == 404  # the link is spent


def test_a_login_with_2fa_by_the_owner_cancels_the_reset(client, ada, approved_case, frozen):
    log_in(client, ada)

    approved_case.refresh_from_db()
    assert approved_case.status == Status.CANCELLED
    (event,) = case_events(approved_case, Type.CASE_CANCELLED)
    assert (event.actor, event.details["reason"]) == (ada, "the owner logged in with 2FA")
    frozen.shift(DELAY + 60)
    assert services.perform_due_resets() == 0
    assert TOTPDevice.objects.filter(user=ada).exists()


def test_agent_can_reject_an_approved_case(agent, grace, approved_case, frozen):
    response = act(agent, approved_case, "reject", reason="The owner called: not her.")

    assert page_messages(response) == ["The case is rejected."]
    assert approved_case.status == Status.REJECTED
    frozen.shift(DELAY + 60)
    assert services.perform_due_resets() == 0


# The reset.


def test_reset_waits_for_the_cooling_off(approved_case, frozen):
    frozen.shift(DELAY - 1)

    assert services.perform_due_resets() == 0
    approved_case.refresh_from_db()
    assert approved_case.status == Status.APPROVED
    assert TOTPDevice.objects.filter(user=approved_case.account).exists()


def test_reset_after_the_cooling_off_removes_2fa_and_ends_every_session(
    ada, grace, approved_case, frozen
):
    TOTPDevice.objects.filter(user=ada).update(failure_count=LOCK_AFTER)  # the lock
    phone, laptop = Client(), Client()
    phone.force_login(ada)
    laptop.force_login(ada)
    assert phone.get("/profile/").status_code == 200
    agents_session = verified_session(Client(), grace)
    frozen.shift(DELAY + 1)

    assert services.perform_due_resets() == 1

    assert not TOTPDevice.objects.filter(user=ada).exists()  # device and lock are gone
    for client in (phone, laptop):
        response = client.get("/profile/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
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
    assert services.perform_due_resets() == 0  # done once


def test_worker_command_performs_due_resets(ada, approved_case, frozen):
    frozen.shift(DELAY + 1)

    call_command("worker")

    approved_case.refresh_from_db()
    assert approved_case.status == Status.DONE
    assert not TOTPDevice.objects.filter(user=ada).exists()


def test_a_cancelled_case_is_never_reset(approved_case, frozen):
    services.cancel(case=approved_case, reason="owner asked by phone")
    frozen.shift(DELAY * 7)

    assert services.perform_due_resets() == 0
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
    support.answer_vouch(
        manager=charles, vouch=Vouch.objects.get(), confirmed=True, comment="I know her."
    )
    approve(agent, verified_case)
    frozen.shift(DELAY + 1)
    services.perform_due_resets()
    other = file_request(explanation="Again?")
    assert other is not None
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


# The person's case link.


def test_case_link_shows_the_case_without_logging_in(client, ada, case):
    device_before = TOTPDevice.objects.values().get(user=ada)
    path = last_email_path(ada.email, "recovery:case")

    page = client.get(path, follow=True)

    assert page.status_code == 200
    assert f"Your recovery request #{case.pk}" in page.text
    assert "Awaiting email confirmation" in page.text
    assert "does not log" in page.text
    assert "_auth_user_id" not in client.session
    profile = client.get("/profile/")
    assert profile.status_code == 302 and profile["Location"].startswith("/login/")
    assert TOTPDevice.objects.values().get(user=ada) == device_before


def test_person_talks_to_support_on_the_case_link(agent, ada, verified_case):
    client = Client()
    path = last_email_path(ada.email, "recovery:case")

    url = open_link(client, path)
    posted = client.post(url, {"body": "I lost my phone on the train. Please reset my 2FA!"})

    assert posted.status_code == 302
    act(agent, verified_case, "message", body="Could you tell us your last invoice number?")
    page = client.get(url)
    assert "I lost my phone on the train." in page.text
    assert "Could you tell us your last invoice number?" in page.text
    support_page = agent.get(case_url(verified_case))
    assert "I lost my phone on the train." in support_page.text
    assert "_auth_user_id" not in client.session


def test_chat_messages_never_change_the_case(agent, ada, checked_case, frozen):
    client = Client()
    path = last_email_path(ada.email, "recovery:case")
    device_before = TOTPDevice.objects.values().get(user=ada)

    url = open_link(client, path)
    client.post(url, {"body": "approve"})
    client.post(url, {"body": f"Please reset the 2FA of {ada.email} now, I approve it."})
    act(agent, checked_case, "message", body="approve ada@example.com")
    frozen.shift(DELAY * 2)
    services.perform_due_resets()

    checked_case.refresh_from_db()
    assert checked_case.status == Status.IN_VERIFICATION
    assert checked_case.reset_due_at is None
    assert Message.objects.count() == 3
    assert TOTPDevice.objects.values().get(user=ada) == device_before
    assert not case_events(checked_case, Type.CASE_APPROVED)


def test_case_link_does_not_open_another_case(client, ada, case, make_user):
    bob = make_user("bob@example.com", full_name="Bob")
    enable_2fa(bob)
    bobs = file_request(email=bob.email, name="Bob")
    assert bobs is not None
    path = last_email_path(ada.email, "recovery:case")

    client.post(open_link(client, path), {"body": "hello"})

    assert cases.case_conversation(case).messages.count() == 1
    assert cases.case_conversation(bobs).messages.count() == 0
    assert bob.email not in client.get(path, follow=True).text


@pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 200])
def test_an_invalid_case_token_is_404(client, case, token):
    assert client.get(f"/case/{token}/").status_code == 404
    assert client.post(f"/case/{token}/", {"body": "hi"}).status_code == 404
    assert not Message.objects.exists()


def test_case_page_gives_every_field_its_own_id(agent, checked_case):
    page = agent.get(case_url(checked_case)).text

    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for label in re.findall(r'<label for="([^"]+)"', page):
        assert label in ids


def test_a_vouch_cannot_be_answered_twice(agent, charles, verified_case):
    ask_charles(agent, verified_case)
    manager = verified_session(Client(), charles)
    link = f"/vouch/{Vouch.objects.get().pk}/"
    first = manager.post(link, {"answer": "confirm"}, follow=True)
    assert page_messages(first) == ["Thank you: your answer was sent to support."]

    second = manager.post(link, {"answer": "deny", "comment": "changed my mind"}, follow=True)

    assert page_messages(second) == ["You have already answered this request."]
    assert Vouch.objects.get().answer == Vouch.Answer.CONFIRMED
    assert len(case_events(verified_case, Type.VOUCH_ANSWERED)) == 1


def test_a_case_opened_from_the_chat_still_needs_the_mailbox_and_the_checks(grace, ada):
    conversation = Conversation.objects.create(
        user=ada, created_at=ada.date_joined, updated_at=ada.date_joined
    )
    case = support.open_case_from_chat(
        actor=grace, conversation=conversation, note="Ada says she lost her phone."
    )

    assert case.status == Status.AWAITING_CONFIRMATION
    assert [email.to for email in emails_to(ada.email)] == [ada.email]
    with pytest.raises(services.RecoveryError):
        decisions.approve(actor=grace, case=case, typed_email=ada.email, reason="she asked")
    (event,) = case_events(case, Type.CHAT_CASE_OPENED)
    assert (event.actor, event.details["reason"]) == (grace, "Ada says she lost her phone.")


def test_an_agent_who_turns_2fa_off_loses_the_console_and_the_admin(client, make_user):
    staff = make_user("staff@example.com", is_staff=True)
    device = enable_2fa(staff)
    verified_session(client, staff)
    assert client.get(QUEUE).status_code == 200
    assert client.get("/admin/").status_code == 200

    device.delete()

    assert client.get(QUEUE).status_code == 403
    assert client.get("/admin/").status_code == 302


# A manager's denial, and decisions on stale data.

DENIAL = "a manager denied the person's identity"


def vouch_by(charles, grace, case: RecoveryCase, answer=Vouch.Answer.PENDING) -> Vouch:
    """A vouch written straight to the database, whatever the case's state."""
    membership = support.vouch_candidates(case)[0]
    return Vouch.objects.create(
        case=case,
        manager=charles,
        organization=membership.organization,
        requested_by=grace,
        requested_at=case.updated_at,
        answer=answer,
    )


def test_approval_waits_for_a_pending_vouch(grace, charles, checked_case):
    support.request_vouch(
        actor=grace, case=checked_case, membership=support.vouch_candidates(checked_case)[0]
    )

    with pytest.raises(services.RecoveryError, match="Wait for the manager's answer first."):
        decisions.approve(
            actor=grace, case=checked_case, typed_email="ada@example.com", reason="checked"
        )

    checked_case.refresh_from_db()
    assert checked_case.status == Status.IN_VERIFICATION
    assert not case_events(checked_case, Type.CASE_APPROVED)


def test_a_denial_after_approval_rejects_the_case_and_stops_the_reset(
    grace, charles, approved_case, frozen
):
    vouch = vouch_by(charles, grace, approved_case)

    support.answer_vouch(manager=charles, vouch=vouch, confirmed=False, comment="Not her voice.")

    approved_case.refresh_from_db()
    assert approved_case.status == Status.REJECTED
    assert approved_case.close_reason == DENIAL
    assert approved_case.cancel_token_hash == ""
    (event,) = case_events(approved_case, Type.CASE_REJECTED)
    assert (event.actor, event.details["reason"]) == (charles, DENIAL)
    frozen.shift(DELAY + 60)
    assert services.perform_due_resets() == 0
    assert TOTPDevice.objects.filter(user=approved_case.account).exists()


def test_a_denial_during_verification_rejects_the_case(grace, charles, verified_case):
    vouch = support.request_vouch(
        actor=grace, case=verified_case, membership=support.vouch_candidates(verified_case)[0]
    )

    support.answer_vouch(manager=charles, vouch=vouch, confirmed=False, comment="Not her.")

    verified_case.refresh_from_db()
    assert verified_case.status == Status.REJECTED
    assert verified_case.close_reason == DENIAL


def test_a_confirmation_after_approval_leaves_the_case_approved(grace, charles, approved_case):
    vouch = vouch_by(charles, grace, approved_case)

    support.answer_vouch(manager=charles, vouch=vouch, confirmed=True, comment="It is her.")

    approved_case.refresh_from_db()
    assert approved_case.status == Status.APPROVED


def test_the_reset_never_happens_with_a_denied_vouch(grace, charles, approved_case, frozen):
    vouch_by(charles, grace, approved_case, answer=Vouch.Answer.DENIED)
    frozen.shift(DELAY + 60)

    assert services.perform_due_resets() == 0

    approved_case.refresh_from_db()
    assert approved_case.status == Status.REJECTED
    assert TOTPDevice.objects.filter(user=approved_case.account).exists()
    assert not case_events(approved_case, Type.MFA_RESET)


def test_approval_rechecks_the_checklist_on_the_current_row(grace, checked_case):
    stale = RecoveryCase.objects.get(pk=checked_case.pk)  # the approver's page, loaded earlier
    support.update_checklist(
        actor=grace,
        case=checked_case,
        name_matches=False,
        organizations_match=True,
        evidence="The voice on the phone was not hers.",
    )

    with pytest.raises(services.RecoveryError, match="Complete the verification checklist"):
        decisions.approve(actor=grace, case=stale, typed_email="ada@example.com", reason="ok")

    checked_case.refresh_from_db()
    assert checked_case.status == Status.IN_VERIFICATION


def test_approval_rechecks_the_status_on_the_current_row(grace, checked_case):
    stale = RecoveryCase.objects.get(pk=checked_case.pk)
    decisions.reject(actor=grace, case=checked_case, reason="not her")

    with pytest.raises(services.RecoveryError, match="Only a case in verification"):
        decisions.approve(actor=grace, case=stale, typed_email="ada@example.com", reason="ok")

    checked_case.refresh_from_db()
    assert checked_case.status == Status.REJECTED


def test_checklist_cannot_be_unticked_once_the_case_is_approved(grace, hedy, checked_case):
    stale = RecoveryCase.objects.get(pk=checked_case.pk)  # the checklist form, loaded earlier
    approve_with_a_second_person(checked_case, grace, hedy)

    with pytest.raises(services.RecoveryError, match="Only a case in verification"):
        support.update_checklist(
            actor=grace, case=stale, name_matches=False, organizations_match=False, evidence="x"
        )

    checked_case.refresh_from_db()
    assert checked_case.status == Status.APPROVED
    assert checked_case.check_name and checked_case.check_organizations
    assert len(case_events(checked_case, Type.CASE_NOTE)) == 1


def test_a_vouch_is_not_asked_on_a_case_approved_meanwhile(
    grace, hedy, charles, make_user, checked_case
):
    mary = make_user("mary@example.com", full_name="Mary Somerville")
    add_membership(mary, ORGANIZATION, role="manager")
    stale = RecoveryCase.objects.get(pk=checked_case.pk)
    approve_with_a_second_person(checked_case, grace, hedy)
    marys = next(m for m in support.vouch_candidates(stale) if m.user == mary)

    with pytest.raises(services.RecoveryError, match="while the case is in verification"):
        support.request_vouch(actor=grace, case=stale, membership=marys)

    assert not Vouch.objects.filter(manager=mary).exists()


def test_a_support_message_emails_the_person_the_case_link_without_the_text(
    agent, ada, verified_case
):
    case_link = last_email_path(ada.email, "recovery:case")

    act(agent, verified_case, "message", body="Could you tell us your last invoice number?")

    notice = emails_to(ada.email)[-1]
    assert "support" in notice.subject.lower()
    assert "invoice" not in notice.subject + notice.body
    assert mailed_path(notice, "recovery:case") == case_link
    page = Client().get(case_link, follow=True)
    assert "Could you tell us your last invoice number?" in page.text


def test_the_vouch_email_for_a_name_with_a_line_break_is_delivered(
    grace, charles, ada, verified_case
):
    User.objects.filter(pk=ada.pk).update(full_name="Ada\r\nBcc: everyone@example.com")
    verified_case.refresh_from_db()
    support.request_vouch(
        actor=grace, case=verified_case, membership=support.vouch_candidates(verified_case)[0]
    )

    assert deliver_due() == len(OutgoingEmail.objects.all())
    (sent,) = [m for m in mail.outbox if m.to == [charles.email]]
    assert sent.subject == "Can you vouch for Ada Bcc: everyone@example.com?"
    assert sent.bcc == []


def test_the_case_link_expires_30_days_after_the_case_closes(client, grace, ada, case, frozen):
    path = last_email_path(ada.email, "recovery:case")
    decisions.reject(actor=grace, case=case, reason="not her")

    frozen.shift(30 * DAY - 60)
    assert client.get(path, follow=True).status_code == 200
    frozen.shift(61)
    assert client.get(path, follow=True).status_code == 404


def test_the_case_link_of_an_open_case_does_not_expire(client, ada, case, frozen):
    path = last_email_path(ada.email, "recovery:case")

    frozen.shift(90 * DAY)

    assert client.get(path, follow=True).status_code == 200


@pytest.mark.parametrize(
    ("url_name", "page_url"),
    [("recovery:case", "/case/"), ("recovery:confirm", "/recover/confirm/")],
)
def test_a_mailed_link_trades_its_token_for_the_session_and_leaves_the_url(
    client, ada, case, url_name, page_url
):
    path = last_email_path(ada.email, url_name)
    token = path.rstrip("/").rsplit("/", 1)[1]

    response = client.get(path)

    assert (response.status_code, response["Location"]) == (302, page_url)
    page = client.get(page_url)
    assert page.status_code == 200
    assert token not in page.text
    assert Client().get(page_url).status_code == 404  # another browser holds no token


def test_a_cancel_link_trades_its_token_for_the_session(client, approved_case):
    response = client.get(last_email_path(ADA, "recovery:cancel"))

    assert (response.status_code, response["Location"]) == (302, "/recover/cancel/")
    assert "Cancel the reset" in client.get("/recover/cancel/").text


def support_notices(address: str) -> list[OutgoingEmail]:
    return [e for e in emails_to(address) if e.subject == "Support wrote on your recovery request"]


def test_several_support_messages_make_one_email_per_quarter_hour(
    agent, ada, verified_case, frozen
):
    for body in ("First question.", "Second question.", "Third question."):
        act(agent, verified_case, "message", body=body)

    assert len(support_notices(ada.email)) == 1
    deliver_due()
    frozen.shift(14 * 60)
    act(agent, verified_case, "message", body="Still there?")
    assert len(support_notices(ada.email)) == 1
    frozen.shift(2 * 60)
    act(agent, verified_case, "message", body="Anyone?")
    assert len(support_notices(ada.email)) == 2


def test_a_support_message_within_the_interval_is_notified_when_the_interval_ends(
    agent, ada, verified_case, frozen
):
    act(agent, verified_case, "message", body="First question.")
    deliver_due()
    frozen.shift(5 * 60)
    act(agent, verified_case, "message", body="Second question.")
    assert len(support_notices(ada.email)) == 1

    frozen.shift(9 * 60)
    services.perform_due_resets()  # the worker's pass: the interval has not ended
    assert len(support_notices(ada.email)) == 1
    frozen.shift(60 + 1)
    services.perform_due_resets()

    notices = support_notices(ada.email)
    assert len(notices) == 2 and "Second question" not in notices[-1].body
    assert Client().get(mailed_path(notices[-1], "recovery:case"), follow=True).status_code == 200
    frozen.shift(cases.NOTICE_INTERVAL.total_seconds() + 1)
    services.perform_due_resets()
    assert len(support_notices(ada.email)) == 2  # sent once


def test_a_pending_support_notice_is_dropped_once_the_case_link_has_expired(
    agent, grace, ada, verified_case, frozen
):
    act(agent, verified_case, "message", body="First question.")
    deliver_due()
    frozen.shift(60)
    act(agent, verified_case, "message", body="Second question.")
    decisions.reject(actor=grace, case=verified_case, reason="not her")
    frozen.shift(31 * DAY)

    services.perform_due_resets()

    assert len(support_notices(ada.email)) == 1
    verified_case.refresh_from_db()
    assert not verified_case.support_notice_pending


def test_no_new_support_email_while_the_last_one_is_unsent(agent, ada, verified_case, frozen):
    act(agent, verified_case, "message", body="First question.")
    frozen.shift(60 * 60)  # the SMTP server is down: nothing went out

    act(agent, verified_case, "message", body="Second question.")

    assert len(support_notices(ada.email)) == 1


def test_no_support_email_once_the_case_link_has_expired(grace, ada, case, frozen):
    decisions.reject(actor=grace, case=case, reason="not her")
    frozen.shift(31 * DAY)

    support.write_to_person(actor=grace, case=case, body="Are you still there?")

    assert support_notices(ada.email) == []
