"""The agent's checklist and the vouch asked of a manager of the person's organizations."""

from django.test import Client

from tests.helpers import PASSWORD, SECRET, add_membership, code_for, enable_2fa, verified_session
from tests.recovery.conftest import (
    ORGANIZATION,
    Type,
    act,
    action_url,
    ask_charles,
    case_events,
    case_url,
    emails_to,
    page_messages,
)
from twostep.recovery.models import Vouch

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


def test_manager_whose_session_proved_no_factor_is_sent_to_confirm(agent, charles, verified_case):
    ask_charles(agent, verified_case)
    manager = Client()
    manager.force_login(charles)  # as a remembered browser's login: no factor proved

    response = manager.get(f"/vouch/{Vouch.objects.get().pk}/")

    assert response.status_code == 302 and response["Location"].startswith("/confirm/")
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
