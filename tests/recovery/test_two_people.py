"""A reset needs two people besides the owner: a manager who vouched, or (with no manager
who could vouch) a second agent; and during the cooling-off the managers and any
logged-in session of the owner can stop it."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.helpers import add_membership, verified_session
from tests.recovery.conftest import (
    ORGANIZATION,
    approve_with_a_second_person,
    case_events,
    emails_to,
    last_email_path,
    open_link,
)
from twostep.accounts.sessions import SessionStore
from twostep.audit.models import SecurityEvent
from twostep.recovery import cases, decisions, pending, verification
from twostep.recovery.models import RecoveryCase

Status = RecoveryCase.Status
ADA = "ada@example.com"


def approve(agent, case) -> bool:
    return decisions.approve(actor=agent, case=case, typed_email=ADA, reason="checked")


def test_one_agent_alone_cannot_approve(grace, hedy, checked_case):
    assert approve(grace, checked_case) is False

    checked_case.refresh_from_db()
    assert checked_case.status == Status.IN_VERIFICATION
    assert checked_case.first_approved_by == grace
    assert case_events(checked_case, SecurityEvent.Type.CASE_FIRST_APPROVAL)
    with pytest.raises(cases.RecoveryError, match="a second agent must approve"):
        approve(grace, checked_case)
    assert approve(hedy, checked_case) is True
    checked_case.refresh_from_db()
    assert (checked_case.status, checked_case.approved_by) == (Status.APPROVED, hedy)


def test_with_a_manager_who_could_vouch_two_agents_are_not_enough(
    grace, hedy, charles, checked_case
):
    for agent in (grace, hedy):
        with pytest.raises(cases.RecoveryError, match="must vouch first"):
            approve(agent, checked_case)

    checked_case.refresh_from_db()
    assert checked_case.status == Status.IN_VERIFICATION


def test_a_manager_who_vouched_and_one_agent_approve(grace, charles, checked_case):
    membership = verification.vouch_candidates(checked_case)[0]
    vouch = verification.request_vouch(actor=grace, case=checked_case, membership=membership)
    verification.answer_vouch(manager=charles, vouch=vouch, confirmed=True, comment="It is her.")

    assert approve(grace, checked_case) is True
    checked_case.refresh_from_db()
    assert checked_case.status == Status.APPROVED


def test_a_new_checklist_lapses_a_first_approval(grace, hedy, checked_case):
    approve(grace, checked_case)
    verification.update_checklist(
        actor=hedy, case=checked_case, name_matches=True, organizations_match=True, evidence="x"
    )

    checked_case.refresh_from_db()
    assert checked_case.first_approved_by is None
    assert approve(hedy, checked_case) is False


def test_every_manager_gets_a_cancel_link_of_their_own(
    client, grace, charles, make_user, checked_case
):
    mary = make_user("mary@example.com", full_name="Mary Somerville")
    add_membership(mary, ORGANIZATION, role="manager")
    approve_with_a_second_person(checked_case, grace, None)

    charles_link = last_email_path(charles.email, "recovery:cancel")
    mary_link = last_email_path(mary.email, "recovery:cancel")
    owner_link = last_email_path(ADA, "recovery:cancel")
    assert len({charles_link, mary_link, owner_link}) == 3
    assert "pending" in emails_to(mary.email)[-1].subject
    client.post(open_link(client, mary_link))

    checked_case.refresh_from_db()
    assert checked_case.status == Status.CANCELLED
    (event,) = case_events(checked_case, SecurityEvent.Type.CASE_CANCELLED)
    assert event.actor == mary
    assert client.post(charles_link, follow=True).status_code == 404  # closed: links spent


def profile_queries(client: Client) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/profile/")
    assert page.status_code == 200
    return page.text, len(queries)


def test_the_owners_session_shows_the_pending_reset_at_no_extra_statement(
    ada, grace, hedy, checked_case
):
    owner = verified_session(Client(), ada)
    before, statements_before = profile_queries(owner)
    assert 'data-testid="pending-reset"' not in before

    approve_with_a_second_person(checked_case, grace, hedy)

    page, statements = profile_queries(owner)
    assert 'data-testid="pending-reset"' in page
    assert "Cancel the reset" in page
    assert statements == statements_before
    cancelled = owner.post("/recover/cancel-pending/", {"next": "/profile/"}, follow=True)
    assert cancelled.redirect_chain == [("/profile/", 302)]
    checked_case.refresh_from_db()
    assert checked_case.status == Status.CANCELLED
    assert 'data-testid="pending-reset"' not in cancelled.text


def test_an_authenticated_page_stays_at_one_statement_with_a_pending_reset(
    fast_sessions, ada, grace, hedy, checked_case, django_assert_num_queries
):
    owner = verified_session(Client(), ada)
    approve_with_a_second_person(checked_case, grace, hedy)

    with django_assert_num_queries(1):
        assert owner.get("/api/session/").status_code == 200


# The pending-reset key goes into the owner's sessions without read-modify-write.


def during_the_marking(monkeypatch, action) -> None:
    """Run `action` once, between the moment the owner's sessions are read and written."""
    decode = SessionStore.decode
    done = []

    def decode_then_act(self, session_data):
        if not done:
            done.append(True)
            action()
        return decode(self, session_data)

    monkeypatch.setattr(SessionStore, "decode", decode_then_act)


def test_a_session_ended_during_the_approval_neither_fails_nor_rolls_it_back(
    monkeypatch, ada, grace, hedy, checked_case
):
    ended = verified_session(Client(), ada)
    kept = verified_session(Client(), ada)
    during_the_marking(monkeypatch, lambda: ended.logout())

    approve_with_a_second_person(checked_case, grace, hedy)

    checked_case.refresh_from_db()
    assert checked_case.status == Status.APPROVED
    assert 'data-testid="pending-reset"' in kept.get("/profile/").text


def test_a_session_saved_by_the_owner_during_the_approval_keeps_their_data(
    monkeypatch, ada, grace, hedy, checked_case
):
    owner = verified_session(Client(), ada)

    def owner_request_saves_the_session() -> None:
        session = owner.session
        session["draft"] = "kept"
        session.save()

    during_the_marking(monkeypatch, owner_request_saves_the_session)

    approve_with_a_second_person(checked_case, grace, hedy)

    data = owner.session
    assert data["draft"] == "kept"
    assert pending.SESSION_KEY in data
