"""One-time recovery codes: their format, storage, single use, the shared throttle, events
and emails, and how they follow 2FA on and off."""

import json
import logging
import math
import re

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.db import transaction

from tests.helpers import code_for, give_recovery_codes, mfa_state
from tests.mfa.conftest import emails, events, wrong_code
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mfa import enrolment, factors, recovery_codes, verification
from twostep.mfa.models import FREE_FAILURES, LOCK_AFTER, MfaState, RecoveryCode

USED_SUBJECT = "A recovery code was used on your account"
GENERATED_SUBJECT = "Your account now has recovery codes"
NEW_SET_SUBJECT = "New recovery codes for your account"
CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){4}")


def check(user, code, purpose="login"):
    return recovery_codes.verify_recovery_code(user=user, code=code, request=None, purpose=purpose)


def unused(user) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def a_wrong_recovery_code(codes: list[str]) -> str:
    """A well-formed code that is not in `codes` (same lookup as the first: a real row)."""
    first = codes[0]
    last = "0000" if first[-4:] != "0000" else "1111"
    return first[:-4] + last


# --- Format ---------------------------------------------------------------------------


def test_a_set_is_ten_grouped_crockford_codes_of_100_bits_with_distinct_lookups(device, user):
    codes = give_recovery_codes(user)
    assert len(codes) == 10
    assert all(CODE.fullmatch(code) for code in codes), codes
    assert len({code[:4] for code in codes}) == 10
    bits = math.log2(len(recovery_codes.ALPHABET))
    assert 20 * bits == 100
    assert 16 * bits == 80  # the hashed part, without the lookup stored in clear: ≥ 64 bits


def test_codes_come_from_secrets(monkeypatch):
    drawn = []
    real = recovery_codes.secrets.choice

    def spy(seq):
        drawn.append(seq)
        return real(seq)

    monkeypatch.setattr(recovery_codes.secrets, "choice", spy)
    recovery_codes.new_code()
    assert drawn == [recovery_codes.ALPHABET] * 20


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("ABCD-EFGH-JKMN-PQRS-TVWX", ("ABCD", "EFGHJKMNPQRSTVWX")),
        ("abcd efgh jkmn pqrs tvwx", ("ABCD", "EFGHJKMNPQRSTVWX")),
        ("  abcdEFGH-jkmn pqrsTVWX ", ("ABCD", "EFGHJKMNPQRSTVWX")),
        ("ABCD-EFGH-JKMN-PQRS-TVW1", ("ABCD", "EFGHJKMNPQRSTVW1")),
        ("abcd-efgh-jkmn-pqrs-tvwi", ("ABCD", "EFGHJKMNPQRSTVW1")),  # I reads as 1
        ("abcd-efgh-jkmn-pqrs-tvwl", ("ABCD", "EFGHJKMNPQRSTVW1")),  # L reads as 1
        ("abcd-efgh-jkmn-pqrs-tvwo", ("ABCD", "EFGHJKMNPQRSTVW0")),  # O reads as 0
    ],
)
def test_input_ignores_case_spaces_and_hyphens_and_reads_i_l_o(typed, expected):
    assert recovery_codes.parse(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "ABCD-EFGH-JKMN-PQRS",  # the 16-character codes of before
        "ABCD-EFGH-JKMN-PQRS-TVWX-Y",
        "ABCD-EFGH-JKMN-PQRS-TVWU",
        "ABCD+EFGH",
    ],
)
def test_what_cannot_be_a_code_is_malformed_and_changes_nothing(device, user, typed):
    give_recovery_codes(user)
    result = check(user, typed)
    assert (result.accepted, result.reason) == (False, "malformed")
    assert "20 letters and digits" in result.message
    assert mfa_state(user).failure_count == 0
    assert unused(user) == 10


# --- Storage --------------------------------------------------------------------------


def test_codes_are_stored_as_argon2id_hashes_with_the_first_group_as_lookup(device, user):
    codes = give_recovery_codes(user)
    rows = {row.lookup: row for row in RecoveryCode.objects.filter(user=user)}
    assert set(rows) == {code[:4] for code in codes}
    for code in codes:
        row = rows[code[:4]]
        assert identify_hasher(row.code_hash).algorithm == "argon2"
        assert "argon2id" in row.code_hash
        assert code.replace("-", "")[4:] not in row.code_hash
        assert row.used_at is None


def test_no_code_reaches_a_log_an_event_or_an_email(device, user, caplog):
    caplog.set_level(logging.DEBUG)
    codes = give_recovery_codes(user)
    assert check(user, codes[0]).accepted
    check(user, codes[0])
    check(user, a_wrong_recovery_code(codes))
    texts = [f"{r.getMessage()} {vars(r)!r}" for r in caplog.records]
    texts += [json.dumps(e.details) for e in SecurityEvent.objects.all()]
    texts += [f"{m.subject}\n{m.body}" for m in OutgoingEmail.objects.all()]
    for code in codes:
        for part in (code, code.replace("-", ""), code.replace("-", "")[4:]):
            assert not any(part in text for text in texts), part


# --- Checking -------------------------------------------------------------------------


def test_a_code_works_once_and_says_how_many_are_left(device, user):
    codes = give_recovery_codes(user)
    first = check(user, codes[3].lower().replace("-", " "))
    assert first.accepted and first.left == 9
    again = check(user, codes[3])
    assert (again.accepted, again.reason) == (False, "reused")
    assert again.message == "That recovery code has already been used. Try another one."
    assert unused(user) == 9
    [used] = events(user, SecurityEvent.Type.RECOVERY_CODE_USED)
    assert used.details == {"purpose": "login", "left": 9}
    [reuse] = events(user, SecurityEvent.Type.CODE_REUSE)
    assert reuse.details == {"purpose": "login", "method": "recovery_code"}
    assert mfa_state(user).failure_count == 0  # a used code is not a guess


def test_a_check_costs_one_hash_verification_never_ten(device, user, monkeypatch):
    codes = give_recovery_codes(user)
    calls = []
    real = recovery_codes.check_password
    monkeypatch.setattr(recovery_codes, "check_password", lambda *a: calls.append(1) or real(*a))
    assert check(user, codes[9]).accepted
    assert not check(user, a_wrong_recovery_code(codes)).accepted
    assert not check(user, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ").accepted  # no such lookup: a decoy hash
    assert len(calls) == 3


def test_using_one_emails_the_owner_with_how_many_are_left(device, user):
    codes = give_recovery_codes(user)
    check(user, codes[0])
    [mail] = emails(user, USED_SUBJECT)
    assert "You have 9 recovery codes left." in mail.body
    assert not events(user, SecurityEvent.Type.RECOVERY_CODES_LOW)


def test_at_three_or_fewer_the_email_warns_and_the_event_is_recorded(device, user):
    codes = give_recovery_codes(user)
    for code in codes[:7]:
        assert check(user, code).accepted
    low = emails(user, USED_SUBJECT)[-1]
    assert "You have only 3 recovery codes left." in low.body
    [event] = events(user, SecurityEvent.Type.RECOVERY_CODES_LOW)
    assert event.details == {"left": 3}
    for code in codes[7:]:
        assert check(user, code).accepted
    assert "You have no recovery codes left." in emails(user, USED_SUBJECT)[-1].body
    assert recovery_codes.ran_out(user)


def test_a_wrong_code_counts_in_the_throttle_shared_with_the_app(device, user, frozen):
    codes = give_recovery_codes(user)
    for _ in range(FREE_FAILURES - 1):
        assert (
            verification.verify_code(
                device=device, code=wrong_code(), request=None, purpose="login"
            ).reason
            == "wrong"
        )
    last = check(user, a_wrong_recovery_code(codes))
    assert (last.accepted, last.reason) == (False, "wrong")
    assert last.message == "That recovery code is not right. Check it and try again."
    assert mfa_state(user).failure_count == FREE_FAILURES
    assert last.retry_at is not None
    # Waiting now: neither factor is judged, even with a right code.
    assert check(user, codes[0]).reason == "throttled"
    app = verification.verify_code(device=device, code=code_for(), request=None, purpose="login")
    assert app.reason == "throttled"
    assert unused(user) == 10
    failed = events(user, SecurityEvent.Type.CODE_FAILED)
    assert [e.details["method"] for e in failed] == ["app"] * 4 + ["recovery_code"]
    assert len(emails(user, "Someone may know your password")) == 1
    # After the wait a right recovery code works and clears the count.
    frozen.move_to(mfa_state(user).next_try_at, tick=False)
    assert check(user, codes[0]).accepted
    assert (mfa_state(user).failure_count, mfa_state(user).next_try_at) == (0, None)


def test_a_locked_second_step_refuses_recovery_codes_until_support_clears_it(
    device, user, make_user
):
    codes = give_recovery_codes(user)
    MfaState.objects.filter(user=user).update(failure_count=LOCK_AFTER)
    assert check(user, codes[0]).reason == "locked"
    agent = make_user("grace@example.com", full_name="Grace Hopper", is_staff=True)
    assert verification.clear_lock(actor=agent, user=user, reason="checked on a call")
    assert check(user, codes[0]).accepted


# --- Issuing and following 2FA ------------------------------------------------------


def test_codes_alone_never_turn_2fa_on(user):
    with pytest.raises(recovery_codes.NoSecondFactor):
        recovery_codes.issue(user, request=None)
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert not factors.second_factor_on(user)


def test_the_first_set_is_recorded_and_emailed_without_the_codes(device, user):
    codes = give_recovery_codes(user)
    [event] = events(user, SecurityEvent.Type.RECOVERY_CODES_GENERATED)
    assert event.details == {"count": 10, "replaced": 0}
    [mail] = emails(user, GENERATED_SUBJECT)
    assert not any(code in mail.body for code in codes)


def test_generating_again_replaces_the_whole_set(device, user):
    old = give_recovery_codes(user)
    assert check(user, old[0]).accepted
    new = give_recovery_codes(user)
    assert not set(old) & set(new)
    assert unused(user) == 10 and RecoveryCode.objects.filter(user=user).count() == 10
    assert check(user, old[1]).reason == "wrong"
    assert check(user, new[1]).accepted
    assert len(emails(user, NEW_SET_SUBJECT)) == 1
    assert events(user, SecurityEvent.Type.RECOVERY_CODES_GENERATED)[-1].details == {
        "count": 10,
        "replaced": 10,
    }


def test_the_first_set_is_issued_only_once(device, user):
    give_recovery_codes(user)
    assert recovery_codes.issue(user, request=None, replace=False) is None
    assert len(events(user, SecurityEvent.Type.RECOVERY_CODES_GENERATED)) == 1


def test_when_the_last_method_goes_the_codes_go_too(device, user):
    give_recovery_codes(user)
    with transaction.atomic():
        device.delete()
        assert factors.recount_methods(user) == (1, 0)
    assert not RecoveryCode.objects.filter(user=user).exists()


def test_turning_2fa_off_removes_every_method_and_the_codes(device, user):
    give_recovery_codes(user)
    enrolment.turn_off(user=user, request=None)
    assert not factors.second_factor_on(user)
    assert mfa_state(user).methods == 0
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert factors.active_device(user) is None
    assert len(events(user, SecurityEvent.Type.MFA_DISABLED)) == 1
