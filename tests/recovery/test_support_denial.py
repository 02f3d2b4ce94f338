"""A manager's denial, and decisions taken on stale data."""

import pytest

from tests.helpers import add_membership
from tests.recovery.conftest import (
    DELAY,
    ORGANIZATION,
    Status,
    Type,
    approve_with_a_second_person,
    case_events,
)
from twostep.accounts.models import User
from twostep.mfa.models import TOTPDevice
from twostep.recovery import cases, decisions, resets, verification
from twostep.recovery.models import RecoveryCase, Vouch

# A manager's denial, and decisions on stale data.

DENIAL = "a manager denied the person's identity"


def vouch_by(charles: User, grace: User, case: RecoveryCase, answer=Vouch.Answer.PENDING) -> Vouch:
    """A vouch written straight to the database, whatever the case's state."""
    membership = verification.vouch_candidates(case)[0]
    return Vouch.objects.create(
        case=case,
        manager=charles,
        organization=membership.organization,
        requested_by=grace,
        requested_at=case.updated_at,
        answer=answer,
    )


def test_approval_waits_for_a_pending_vouch(grace, charles, checked_case):
    verification.request_vouch(
        actor=grace, case=checked_case, membership=verification.vouch_candidates(checked_case)[0]
    )

    with pytest.raises(cases.RecoveryError, match="Wait for the manager's answer first."):
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

    verification.answer_vouch(
        manager=charles, vouch=vouch, confirmed=False, comment="Not her voice."
    )

    approved_case.refresh_from_db()
    assert approved_case.status == Status.REJECTED
    assert approved_case.close_reason == DENIAL
    assert approved_case.cancel_token_hash == ""
    (event,) = case_events(approved_case, Type.CASE_REJECTED)
    assert (event.actor, event.details["reason"]) == (charles, DENIAL)
    frozen.shift(DELAY + 60)
    assert resets.perform_due_resets() == 0
    assert TOTPDevice.objects.filter(user=approved_case.account).exists()


def test_a_denial_during_verification_rejects_the_case(grace, charles, verified_case):
    vouch = verification.request_vouch(
        actor=grace, case=verified_case, membership=verification.vouch_candidates(verified_case)[0]
    )

    verification.answer_vouch(manager=charles, vouch=vouch, confirmed=False, comment="Not her.")

    verified_case.refresh_from_db()
    assert verified_case.status == Status.REJECTED
    assert verified_case.close_reason == DENIAL


def test_a_confirmation_after_approval_leaves_the_case_approved(grace, charles, approved_case):
    vouch = vouch_by(charles, grace, approved_case)

    verification.answer_vouch(manager=charles, vouch=vouch, confirmed=True, comment="It is her.")

    approved_case.refresh_from_db()
    assert approved_case.status == Status.APPROVED


def test_the_reset_never_happens_with_a_denied_vouch(grace, charles, approved_case, frozen):
    vouch_by(charles, grace, approved_case, answer=Vouch.Answer.DENIED)
    frozen.shift(DELAY + 60)

    assert resets.perform_due_resets() == 0

    approved_case.refresh_from_db()
    assert approved_case.status == Status.REJECTED
    assert TOTPDevice.objects.filter(user=approved_case.account).exists()
    assert not case_events(approved_case, Type.MFA_RESET)


def test_approval_rechecks_the_checklist_on_the_current_row(grace, checked_case):
    stale = RecoveryCase.objects.get(pk=checked_case.pk)  # the approver's page, loaded earlier
    verification.update_checklist(
        actor=grace,
        case=checked_case,
        name_matches=False,
        organizations_match=True,
        evidence="The voice on the phone was not hers.",
    )

    with pytest.raises(cases.RecoveryError, match="Complete the verification checklist"):
        decisions.approve(actor=grace, case=stale, typed_email="ada@example.com", reason="ok")

    checked_case.refresh_from_db()
    assert checked_case.status == Status.IN_VERIFICATION


def test_approval_rechecks_the_status_on_the_current_row(grace, checked_case):
    stale = RecoveryCase.objects.get(pk=checked_case.pk)
    decisions.reject(actor=grace, case=checked_case, reason="not her")

    with pytest.raises(cases.RecoveryError, match="Only a case in verification"):
        decisions.approve(actor=grace, case=stale, typed_email="ada@example.com", reason="ok")

    checked_case.refresh_from_db()
    assert checked_case.status == Status.REJECTED


def test_checklist_cannot_be_unticked_once_the_case_is_approved(grace, hedy, checked_case):
    stale = RecoveryCase.objects.get(pk=checked_case.pk)  # the checklist form, loaded earlier
    approve_with_a_second_person(checked_case, grace, hedy)

    with pytest.raises(cases.RecoveryError, match="Only a case in verification"):
        verification.update_checklist(
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
    marys = next(m for m in verification.vouch_candidates(stale) if m.user == mary)

    with pytest.raises(cases.RecoveryError, match="while the case is in verification"):
        verification.request_vouch(actor=grace, case=stale, membership=marys)

    assert not Vouch.objects.filter(manager=mary).exists()
