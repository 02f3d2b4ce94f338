"""One failing request or reset does not stall the worker's recovery pass: it is logged by
its error type only, counted, retried on later passes, and parked for support after
three failures, while the others go through."""

import logging

import pytest
from django.db import InterfaceError, connection
from django.urls import reverse

from tests.recovery.conftest import (
    approve_with_a_second_person,
    claim,
    confirm_as_owner,
    file_request,
)
from twostep.recovery import attempts, intake, resets, verification
from twostep.recovery.models import RecoveryCase, RecoveryRequest

SECRET_WORDS = "call me on +1 555 0100"


def test_a_failing_request_is_retried_then_parked_and_the_others_go_through(
    ada, make_user, agent, monkeypatch, caplog
):
    make_user("bob@example.com", full_name="Bob Byron")
    act_for = intake._act_for

    def fails_for_bob(account, request):
        if account.email == "bob@example.com":
            raise RuntimeError(SECRET_WORDS)
        act_for(account, request)

    monkeypatch.setattr(intake, "_act_for", fails_for_bob)
    intake.submit_request(
        source=RecoveryCase.Source.WEB, claim=claim(email="bob@example.com"), ip="198.51.100.2"
    )
    intake.submit_request(
        source=RecoveryCase.Source.WEB, claim=claim(email="ada@example.com"), ip="198.51.100.3"
    )

    with caplog.at_level(logging.ERROR, logger="twostep.recovery"):
        assert intake.process_requests() == 1  # Ada's, after Bob's failed

    assert RecoveryCase.objects.get().account == ada
    bob = RecoveryRequest.objects.get(claimed_email="bob@example.com")
    assert (bob.outcome, bob.attempts) == (intake.RECEIVED, 1)
    assert "RuntimeError" in caplog.text and "555" not in caplog.text
    intake.process_requests()
    intake.process_requests()
    bob.refresh_from_db()
    assert (bob.outcome, bob.attempts) == (intake.FAILED, 3)
    assert intake.process_requests() == 0  # parked: not tried again
    queue = agent.get(reverse("support:queue")).text
    assert 'data-testid="failed-requests"' in queue and "bob@example.com" in queue


def test_a_failing_reset_is_parked_and_the_other_due_resets_happen(
    approved_case, grace, hedy, make_user, agent, frozen, monkeypatch, caplog
):
    bob = make_user("bob@example.com", full_name="Bob Byron")
    bob_case = file_request(email="bob@example.com", name="Bob Byron", organizations="")
    assert bob_case is not None
    confirm_as_owner(bob_case)
    verification.update_checklist(
        actor=grace, case=bob_case, name_matches=True, organizations_match=True, evidence="ok"
    )
    approve_with_a_second_person(bob_case, grace, hedy)
    end_all_sessions = resets.end_all_sessions

    def fails_for_ada(account):
        if account.email == "ada@example.com":
            raise RuntimeError(SECRET_WORDS)
        return end_all_sessions(account)

    monkeypatch.setattr(resets, "end_all_sessions", fails_for_ada)
    frozen.shift(2 * 24 * 60 * 60)

    with caplog.at_level(logging.ERROR, logger="twostep.recovery"):
        assert resets.perform_due_resets() == 1  # Bob's

    bob_case.refresh_from_db()
    assert bob_case.status == RecoveryCase.Status.DONE and bob.pk == bob_case.account_id
    assert "RuntimeError" in caplog.text and "555" not in caplog.text
    for _ in range(attempts.MAX_ATTEMPTS):
        resets.perform_due_resets()
    approved_case.refresh_from_db()
    assert approved_case.status == RecoveryCase.Status.APPROVED
    assert approved_case.reset_failures == attempts.MAX_ATTEMPTS
    page = agent.get(reverse("support:case_detail", kwargs={"pk": approved_case.pk})).text
    assert 'data-testid="reset-parked"' in page


def database_error_of_this_item() -> None:
    """A real OperationalError that leaves the connection working: a statement timeout on
    PostgreSQL, an SQLite error (as "database is locked" is)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL statement_timeout = '20ms'")
            cursor.execute("SELECT pg_sleep(2)")
        else:
            cursor.execute("SELECT * FROM recovery_no_such_table")


def test_an_operational_error_of_one_request_is_its_failure_not_a_lost_database(
    ada, make_user, monkeypatch, caplog
):
    make_user("bob@example.com", full_name="Bob Byron")
    act_for = intake._act_for

    def times_out_for_bob(account, request):
        if account.email == "bob@example.com":
            database_error_of_this_item()
        act_for(account, request)

    monkeypatch.setattr(intake, "_act_for", times_out_for_bob)
    for n, email in enumerate(["bob@example.com", "ada@example.com"]):
        intake.submit_request(
            source=RecoveryCase.Source.WEB, claim=claim(email=email), ip=f"198.51.100.{n + 2}"
        )

    with caplog.at_level(logging.ERROR, logger="twostep.recovery"):
        for _ in range(attempts.MAX_ATTEMPTS):
            intake.process_requests()

    assert RecoveryCase.objects.get().account == ada
    bob = RecoveryRequest.objects.get(claimed_email="bob@example.com")
    assert (bob.outcome, bob.attempts) == (intake.FAILED, attempts.MAX_ATTEMPTS)
    assert "OperationalError" in caplog.text


def test_due_resets_run_even_when_the_request_stage_raised(approved_case, frozen, monkeypatch):
    def lost(**kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(resets, "process_requests", lost)
    frozen.shift(2 * 24 * 60 * 60)

    with pytest.raises(InterfaceError):
        resets.perform_due_resets()

    approved_case.refresh_from_db()
    assert approved_case.status == RecoveryCase.Status.DONE
