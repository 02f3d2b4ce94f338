"""verification.verify_code, the one place a code is judged, and the login step that uses it."""

import json
import logging
import re
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.helpers import PASSWORD, SECRET, code_for, enable_2fa, submit_code, submit_password
from tests.mfa.conftest import emails, events, reload, throttle_of, wrong_code
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mfa import totp, verification
from twostep.mfa.models import BACKOFF_CAP, LOCK_AFTER, MfaState

REUSE_SUBJECT = "A used login code was tried again on your account"
WRONG_CODES_SUBJECT = "Someone may know your password"
CODE_FORM_ERROR = "Enter the 6-digit code from your app (numbers only)."


def verify(device, code, *, purpose="login", request=None):
    """One attempt, with the device read afresh as a new request would."""
    return verification.verify_code(
        device=reload(device), code=code, request=request, purpose=purpose
    )


def current_step() -> int:
    return totp.time_step(timezone.now().timestamp())


# --- Which codes are right --------------------------------------------------------------


def test_current_code_is_accepted(device):
    check = verify(device, code_for())
    assert check.accepted and check.reason == ""
    assert reload(device).last_used_step == current_step()
    assert throttle_of(device).failure_count == 0


@pytest.mark.parametrize("steps", [-1, 1])
def test_code_one_step_either_side_is_accepted(device, steps):
    assert verify(device, code_for(steps=steps)).accepted
    assert reload(device).last_used_step == current_step() + steps


@pytest.mark.parametrize("steps", [-2, 2])
def test_code_two_steps_away_is_refused(device, steps):
    check = verify(device, code_for(steps=steps))
    assert not check.accepted
    assert check.reason == "clock_skew"
    assert reload(device).last_used_step == -1
    assert throttle_of(device).failure_count == 1


def test_same_code_twice_is_refused_as_reused_logged_and_reported(device, user):
    code = code_for()
    assert verify(device, code).accepted
    check = verify(device, code)
    assert not check.accepted
    assert check.reason == "reused"
    assert check.message == "That code has already been used. Wait for the next code in your app."
    [event] = events(user, SecurityEvent.Type.CODE_REUSE)
    assert event.details == {"purpose": "login"}
    assert len(emails(user, REUSE_SUBJECT)) == 1
    assert throttle_of(device).failure_count == 0


def test_a_burst_of_reuses_is_each_logged_but_emailed_once(device, user, frozen):
    code = code_for()
    assert verify(device, code).accepted
    for _ in range(3):
        assert verify(device, code).reason == "reused"
    assert len(events(user, SecurityEvent.Type.CODE_REUSE)) == 3
    assert len(emails(user, REUSE_SUBJECT)) == 1
    frozen.shift(11 * 60)  # a reuse after the quiet period is news again
    next_code = code_for()
    assert verify(device, next_code).accepted
    assert verify(device, next_code).reason == "reused"
    assert len(emails(user, REUSE_SUBJECT)) == 2


def test_code_from_a_step_before_the_last_accepted_one_is_refused(device):
    assert verify(device, code_for(steps=1)).accepted
    for steps in (0, -1):
        check = verify(device, code_for(steps=steps))
        assert (check.accepted, check.reason) == (False, "reused")
    assert reload(device).last_used_step == current_step() + 1


def test_next_step_code_still_works_after_the_current_one_was_used(device):
    assert verify(device, code_for()).accepted
    assert verify(device, code_for(steps=1)).accepted


def test_code_of_a_new_step_is_accepted_after_time_moves_on(device, frozen):
    code = code_for()
    assert verify(device, code).accepted
    frozen.shift(totp.PERIOD)
    assert verify(device, code_for()).accepted
    assert not verify(device, code).accepted


# --- Clock skew ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "wording"),
    [
        (5, "about 3 minutes ahead"),
        (-5, "about 3 minutes behind"),
        (2, "about 1 minute ahead"),
        (-3, "about 2 minutes behind"),
        (10, "about 5 minutes ahead"),
        (-10, "about 5 minutes behind"),
    ],
)
def test_code_a_few_minutes_off_says_the_phone_clock_is_off(device, user, steps, wording):
    check = verify(device, code_for(steps=steps))
    assert (check.accepted, check.reason) == (False, "clock_skew")
    assert check.message == (
        f"That code is from a different time: your phone's clock seems to be {wording}. "
        "Set your phone to set its date and time automatically, then try the newest code."
    )
    [event] = events(user, SecurityEvent.Type.CODE_FAILED)
    assert event.details["clock_drift_seconds"] == steps * totp.PERIOD
    assert throttle_of(device).failure_count == 1


@pytest.mark.parametrize("steps", [11, -11, 12, 40, -300])
def test_code_eleven_or_more_steps_away_gets_the_plain_wrong_code_message(device, steps):
    check = verify(device, code_for(steps=steps))
    assert (check.accepted, check.reason) == (False, "wrong")
    assert check.message == verification.WRONG_CODE
    assert throttle_of(device).failure_count == 1


# --- What a code looks like ------------------------------------------------------------


@pytest.mark.parametrize("layout", ["{0} {1}", "{0}-{1}", " {0}{1} "])
def test_spaced_and_hyphenated_codes_are_accepted(device, layout):
    code = code_for()
    assert verify(device, layout.format(code[:3], code[3:])).accepted


def test_spaced_code_logs_in_through_the_code_page(pending_client, user):
    code = code_for()
    response = submit_code(pending_client, f"{code[:3]} {code[3:]}")
    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    assert pending_client.session[AUTH_USER_KEY] == str(user.pk)


MALFORMED = {
    "letters": "abcdef",
    "letter-inside": "12a456",
    "five-digits": "12345",
    "seven-digits": "1234567",
    "arabic-indic": "١٢٣٤٥٦",
    "full-width": "１２３４５６",
    "empty": "",
    "blank": "   ",
    "100KB": "1" * 100_000,
    "code-and-more": "123456 789",
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_code_gets_a_clear_error_from_the_service_and_changes_nothing(device, text):
    check = verify(device, text)
    assert (check.accepted, check.reason) == (False, "malformed")
    assert check.message == "Enter the 6-digit code from your app."
    state = throttle_of(device)
    assert (state.failure_count, reload(device).last_used_step, state.next_try_at) == (0, -1, None)
    assert not SecurityEvent.objects.filter(type=SecurityEvent.Type.CODE_FAILED).exists()


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_code_on_the_login_page_gets_a_form_error_and_changes_nothing(
    pending_client, device, text
):
    response = submit_code(pending_client, text)
    assert response.status_code == 200
    [error] = response.context["form"].errors["code"]
    assert error == CODE_FORM_ERROR
    assert 'role="alert"' in response.content.decode()
    state = throttle_of(device)
    assert (state.failure_count, reload(device).last_used_step, state.next_try_at) == (0, -1, None)
    assert not SecurityEvent.objects.filter(type=SecurityEvent.Type.CODE_FAILED).exists()
    assert AUTH_USER_KEY not in pending_client.session


def test_wrong_code_on_the_login_page_says_so_and_keeps_the_session_pending(pending_client, device):
    response = submit_code(pending_client, wrong_code())
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [verification.WRONG_CODE]
    assert AUTH_USER_KEY not in pending_client.session
    assert throttle_of(device).failure_count == 1


# --- Throttling ------------------------------------------------------------------------


def test_five_wrong_codes_are_free_then_each_try_waits_twice_as_long_up_to_an_hour(device, frozen):
    waits = []
    for failure in range(1, 21):
        check = verify(device, wrong_code())
        assert check.reason == "wrong", failure
        fresh = throttle_of(device)
        assert fresh.failure_count == failure
        wait = fresh.next_try_at - timezone.now() if fresh.next_try_at else timedelta(0)
        waits.append(int(wait.total_seconds()))
        assert check.retry_at == fresh.next_try_at
        if wait:
            # Any try before the wait is over is refused without being judged or counted.
            frozen.shift(wait - timedelta(seconds=1))
            assert verify(device, wrong_code()).reason == "throttled"
            assert throttle_of(device).failure_count == failure
            frozen.shift(1)
    assert waits == [0, 0, 0, 0] + [2**n for n in range(12)] + [3600] * 4
    assert max(waits) == BACKOFF_CAP.total_seconds()


@pytest.mark.parametrize(
    ("failures", "wording"),
    [
        (5, "1 second"),
        (6, "2 seconds"),
        (11, "64 seconds"),
        (12, "3 minutes"),
        (30, "60 minutes"),
    ],
)
def test_during_the_wait_even_a_correct_code_is_refused_with_when_to_retry(
    device, frozen, failures, wording
):
    MfaState.objects.filter(user_id=device.user_id).update(failure_count=failures - 1)
    verify(device, wrong_code())
    throttled = throttle_of(device)
    check = verify(device, code_for())
    assert (check.accepted, check.reason) == (False, "throttled")
    assert check.message == f"Too many wrong codes. Try again in {wording}."
    assert check.retry_at == throttled.next_try_at
    assert (throttle_of(device).failure_count, reload(device).last_used_step) == (failures, -1)


def test_after_the_wait_a_correct_code_works_and_resets_the_counter(device, frozen):
    for _ in range(7):
        frozen.move_to(throttle_of(device).next_try_at or timezone.now(), tick=False)
        verify(device, wrong_code())
    throttled = throttle_of(device)
    assert throttled.failure_count == 7
    frozen.move_to(throttled.next_try_at, tick=False)
    assert verify(device, code_for()).accepted
    fresh = throttle_of(device)
    assert (fresh.failure_count, fresh.next_try_at) == (0, None)
    # A fresh run of failures gets its free tries again.
    frozen.shift(totp.PERIOD)
    for _ in range(4):
        assert verify(device, wrong_code()).reason == "wrong"
    assert throttle_of(device).next_try_at is None


def test_throttled_login_page_refuses_the_correct_code_then_accepts_it_after_the_wait(
    pending_client, device, frozen, user
):
    for _ in range(6):
        frozen.move_to(throttle_of(device).next_try_at or timezone.now(), tick=False)
        verify(device, wrong_code())
    response = submit_code(pending_client, code_for())
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [
        "Too many wrong codes. Try again in 2 seconds."
    ]
    assert AUTH_USER_KEY not in pending_client.session
    frozen.shift(2)
    response = submit_code(pending_client, code_for())
    assert response.status_code == 302
    assert pending_client.session[AUTH_USER_KEY] == str(user.pk)
    assert throttle_of(device).failure_count == 0


def fail_until_locked(device, frozen) -> list:
    checks = []
    for _ in range(LOCK_AFTER):
        frozen.move_to(throttle_of(device).next_try_at or timezone.now(), tick=False)
        checks.append(verify(device, wrong_code()))
    return checks


def test_hundred_consecutive_failures_lock_the_device_until_support_clears_it(
    device, frozen, user, make_user
):
    checks = fail_until_locked(device, frozen)
    assert [c.reason for c in checks[:-1]] == ["wrong"] * (LOCK_AFTER - 1)
    assert checks[-1].reason == "locked"
    assert "Contact support to unlock it." in checks[-1].message
    assert len(events(user, SecurityEvent.Type.MFA_LOCKED)) == 1

    # Waiting does not help, whatever the wait.
    for wait in (timedelta(hours=2), timedelta(days=30), timedelta(days=3650)):
        frozen.shift(wait)
        for code in (code_for(), wrong_code()):
            check = verify(device, code)
            assert (check.accepted, check.reason) == (False, "locked")
    assert throttle_of(device).failure_count == LOCK_AFTER
    assert len(events(user, SecurityEvent.Type.MFA_LOCKED)) == 1

    agent = make_user(email="agent@bpart.com", full_name="Support Agent", is_staff=True)
    assert verification.clear_lock(actor=agent, user=user, reason="identity checked on a call")
    [unlocked] = events(user, SecurityEvent.Type.MFA_UNLOCKED)
    assert unlocked.actor == agent
    assert unlocked.details == {"reason": "identity checked on a call"}
    assert verify(device, code_for()).accepted
    assert not verification.clear_lock(actor=agent, user=user, reason="nothing to clear")


def test_locked_device_refuses_the_correct_code_on_the_login_page(pending_client, device, frozen):
    fail_until_locked(device, frozen)
    frozen.shift(timedelta(days=1))
    # The pending login has expired by now; a new password step, then the code.
    submit_password(pending_client)
    response = submit_code(pending_client, code_for())
    assert response.status_code == 200
    assert "locked" in response.context["form"].errors["code"][0]


def test_fifth_consecutive_wrong_login_code_queues_the_warning_email_exactly_once(
    pending_client, device, frozen, user
):
    for _ in range(4):
        submit_code(pending_client, wrong_code())
    assert emails(user, WRONG_CODES_SUBJECT) == []
    submit_code(pending_client, wrong_code())
    [warning] = emails(user, WRONG_CODES_SUBJECT)
    assert "5 times" in warning.body
    assert "127.0.0.1" in warning.body
    for _ in range(5):
        frozen.move_to(throttle_of(device).next_try_at, tick=False)
        submit_code(pending_client, wrong_code())
    assert throttle_of(device).failure_count == 10
    assert len(emails(user, WRONG_CODES_SUBJECT)) == 1


@pytest.mark.parametrize(("purpose", "warned"), [("enrol", 0), ("confirm", 1)])
def test_the_password_warning_follows_wrong_codes_only_after_a_right_password(
    device, frozen, user, purpose, warned
):
    # At login and on "confirm it's you" the password was right just before; setting the
    # app up asks no password.
    for _ in range(6):
        frozen.move_to(throttle_of(device).next_try_at or timezone.now(), tick=False)
        verify(device, wrong_code(), purpose=purpose)
    assert throttle_of(device).failure_count == 6
    assert len(emails(user, WRONG_CODES_SUBJECT)) == warned


# --- Nothing secret leaks --------------------------------------------------------------


def test_no_log_record_event_or_email_contains_the_secret_or_a_submitted_code(
    caplog, device, user, frozen
):
    caplog.set_level(logging.DEBUG)
    for name in ("twostep", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    submitted: list[str] = []
    connection.force_debug_cursor = True  # SQL and its parameters are logged too
    try:
        browser = Client(REMOTE_ADDR="203.0.113.7")
        submit_password(browser)
        for code in (wrong_code(), "12a456", f"{code_for()[:3]} {code_for()[3:]}"):
            submitted.append(code)
            submit_code(browser, code)
        assert AUTH_USER_KEY in browser.session
        # Someone else replays the code that was just used, from a second browser.
        attacker = Client(REMOTE_ADDR="198.51.100.9")
        submit_password(attacker)
        submit_code(attacker, code_for())
        submitted.append(code_for())
    finally:
        connection.force_debug_cursor = False
    assert events(user, SecurityEvent.Type.CODE_REUSE)
    assert any(r.name == "django.db.backends" for r in caplog.records)

    encoded = totp.encode_secret(SECRET)
    forbidden = [
        re.escape(SECRET.decode()),
        re.escape(encoded),
        re.escape(totp.grouped(encoded)),
        re.escape(SECRET.hex()),
        re.escape(PASSWORD),
    ]
    for code in submitted:
        digits = re.sub(r"\D", "", code)
        forbidden.append(rf"(?<!\d){re.escape(code)}(?!\d)")
        if len(digits) == totp.DIGITS:
            forbidden.append(rf"(?<!\d){digits[:3]}\D?{digits[3:]}(?!\d)")
    texts = [f"{r.getMessage()} {vars(r)!r}" for r in caplog.records]
    texts += [json.dumps(e.details) for e in SecurityEvent.objects.all()]
    texts += [f"{m.subject}\n{m.body}" for m in OutgoingEmail.objects.all()]
    for pattern in forbidden:
        for text in texts:
            assert not re.search(pattern, text), f"{pattern!r} found in {text[:300]!r}"


def test_other_accounts_device_is_not_affected_by_failures(device, make_user, frozen):
    other = enable_2fa(make_user(email="grace@example.com"))
    for _ in range(5):
        verify(device, wrong_code())
    assert throttle_of(other).failure_count == 0
    assert verify(other, code_for()).accepted
