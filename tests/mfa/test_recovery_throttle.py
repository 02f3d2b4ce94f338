"""Recovery codes and the second step's shared throttle: another account's code is a
counted failure; the code's single-use UPDATE re-checks the throttle at write time; on
PostgreSQL it waits for a failure still being written (FOR SHARE) instead of reading past
it. Also: adding the app to an account already protected by keys does not "turn 2FA on",
and the second step offers a recovery code only to an account that has a set."""

import threading

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from tests.authenticator import Authenticator, give_key
from tests.concurrency import at_once
from tests.helpers import (
    SITE,
    code_for,
    enable_2fa,
    give_recovery_codes,
    mfa_state,
    submit_password,
    verified_session,
)
from tests.mfa.conftest import emails, events, wrong_code
from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.mfa import enrolment, factors, recovery_codes, throttle
from twostep.mfa.models import FREE_FAILURES, LOCK_AFTER, MfaState, RecoveryCode
from twostep.mfa.verification import verify_code


def check(user: User, code: str):
    return recovery_codes.verify_recovery_code(user=user, code=code, request=None, purpose="login")


def test_another_accounts_code_is_refused_and_counted(device, user, make_user):
    eve = make_user("eve@example.com")
    enable_2fa(eve)
    eves = give_recovery_codes(eve)
    give_recovery_codes(user)
    result = check(user, eves[0])
    assert (result.accepted, result.reason) == (False, "wrong")
    assert mfa_state(user).failure_count == 1
    [failed] = events(user, SecurityEvent.Type.CODE_FAILED)
    assert failed.details["method"] == "recovery_code"
    assert not RecoveryCode.objects.filter(used_at__isnull=False).exists()
    assert mfa_state(eve).failure_count == 0


def test_the_use_rechecks_the_throttle_at_write_time(device, user, monkeypatch):
    """Another request locks the account after this one read an unlocked state and
    verified the hash, before its UPDATE: the UPDATE itself refuses (the state this request
    holds still says "not locked")."""
    codes = give_recovery_codes(user)
    real = recovery_codes.check_password

    def verified_then_locked_elsewhere(*args):
        result = real(*args)
        MfaState.objects.filter(user=user).update(failure_count=LOCK_AFTER)
        return result

    monkeypatch.setattr(recovery_codes, "check_password", verified_then_locked_elsewhere)
    loaded = User.objects.get_by_natural_key(user.email)
    assert loaded.mfa_state.failure_count == 0  # what the request read
    result = check(loaded, codes[0])
    assert (result.accepted, result.reason) == (False, "locked")
    assert not RecoveryCode.objects.filter(user=user, used_at__isnull=False).exists()
    assert not events(user, SecurityEvent.Type.RECOVERY_CODE_USED)


def test_the_decoy_hash_is_made_before_the_first_miss(device, user, monkeypatch):
    made = []
    monkeypatch.setattr(recovery_codes, "make_password", lambda *a, **k: made.append(1))
    assert not check(user, "ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ").accepted
    assert made == []


# --- Enrolment and the second step ----------------------------------------------------


def test_adding_the_app_to_an_account_with_keys_is_app_added_not_2fa_on(user, frozen, settings):
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""
    give_key(user, Authenticator(origin=SITE, rp_id="twostep.example"))
    device = enrolment.start_enrolment(user=user, request=None)
    result = enrolment.confirm_enrolment(
        device=device, code=code_for(device.secret()), request=None
    )
    assert result.accepted and not result.first
    assert mfa_state(user).methods == 2
    assert not events(user, SecurityEvent.Type.MFA_ENABLED)
    assert len(events(user, SecurityEvent.Type.MFA_APP_ADDED)) == 1
    assert not emails(user, "Two-factor authentication is now on")
    assert emails(user, "An authenticator app was added to your account")


def test_starting_enrolment_makes_the_accounts_throttle_row(user):
    assert not MfaState.objects.filter(user=user).exists()
    enrolment.start_enrolment(user=user, request=None)
    assert MfaState.objects.filter(user=user).exists()


def test_the_second_step_offers_a_recovery_code_only_with_a_set(client: Client, device, user):
    submit_password(client)
    page = client.get("/login/code/").content.decode()
    assert "Use a recovery code" not in page
    assert client.get("/login/code/?method=recovery").context["method"] == "app"
    give_recovery_codes(user)
    assert "Use a recovery code" in client.get("/login/code/").content.decode()


# --- PostgreSQL: the write-time re-check waits for a failure being written -------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_right_code_waits_for_a_failure_still_open_and_is_refused(make_user):
    user = make_user()
    enable_2fa(user)
    codes = give_recovery_codes(user)
    # One more failure sets the first wait.
    MfaState.objects.filter(user=user).update(failure_count=FREE_FAILURES - 1)
    counted, release = threading.Event(), threading.Event()

    def failure_held_open() -> None:
        try:
            with transaction.atomic():
                now = timezone.now()
                assert throttle._count_failure(user, now) == FREE_FAILURES
                counted.set()
                release.wait(timeout=10)  # the wait is about to be set
                MfaState.objects.filter(user=user).update(next_try_at=now + throttle.BACKOFF_CAP)
        finally:
            connection.close()

    writer = threading.Thread(target=failure_held_open)
    writer.start()
    assert counted.wait(timeout=10)
    result: list = []

    def right_code() -> None:
        try:
            result.append(check(User.objects.get_by_natural_key(user.email), codes[0]))
        finally:
            connection.close()

    reader = threading.Thread(target=right_code)
    reader.start()
    reader.join(timeout=1)
    assert reader.is_alive()  # waiting on the failure's row lock, not reading past it
    release.set()
    writer.join(timeout=10)
    reader.join(timeout=10)
    [verdict] = result
    assert (verdict.accepted, verdict.reason) == (False, "throttled")
    assert not RecoveryCode.objects.filter(user=user, used_at__isnull=False).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_right_code_racing_wrong_ones_is_used_only_if_accepted(make_user):
    user = make_user()
    enable_2fa(user)
    codes = give_recovery_codes(user)
    for round_, code in enumerate(codes[:3]):
        MfaState.objects.filter(user=user).update(failure_count=FREE_FAILURES - 1, next_try_at=None)

        def right(code: str = code):
            return check(User.objects.get_by_natural_key(user.email), code)

        def wrong():
            racer = User.objects.get_by_natural_key(user.email)
            device = factors.active_device(racer)
            return verify_code(device=device, code=wrong_code(), request=None, purpose="login")

        outcome = at_once(right, wrong, wrong, wrong)
        assert outcome.errors == [], round_  # no deadlock, no 500
        verdict = outcome.results[0]
        used = RecoveryCode.objects.get(user=user, lookup=code[:4]).used_at is not None
        assert verdict.accepted == used, round_
        if not verdict.accepted:
            assert verdict.reason in ("throttled", "locked"), round_
        for other in outcome.results[1:]:
            assert not other.accepted and other.reason in ("wrong", "throttled", "locked")


# --- The admin's "clear the lock" ------------------------------------------------------


def _locked_and_staff(make_user, user, *perms: str) -> Client:
    enable_2fa(user)
    MfaState.objects.filter(user=user).update(failure_count=LOCK_AFTER)
    sam = make_user("sam@example.com", "Sam Support", is_staff=True)
    sam.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    enable_2fa(sam)
    client = Client()
    verified_session(client, sam)
    return client


def _clear(client: Client, user: User):
    state = MfaState.objects.get(user=user)
    return client.post(
        "/admin/mfa/mfastate/",
        {"action": "clear_lock", ACTION_CHECKBOX_NAME: [state.pk], "index": 0},
    )


def test_staff_who_may_only_view_cannot_clear_the_lock(make_user, user, frozen):
    client = _locked_and_staff(make_user, user, "view_mfastate")
    assert client.get("/admin/mfa/mfastate/").status_code == 200
    assert "clear_lock" not in client.get("/admin/mfa/mfastate/").content.decode()
    _clear(client, user)
    assert mfa_state(user).failure_count == LOCK_AFTER
    assert not events(user, SecurityEvent.Type.MFA_UNLOCKED)


def test_staff_with_the_change_permission_clear_the_lock(make_user, user, frozen):
    client = _locked_and_staff(make_user, user, "view_mfastate", "change_mfastate")
    assert "clear_lock" in client.get("/admin/mfa/mfastate/").content.decode()
    _clear(client, user)
    assert mfa_state(user).failure_count == 0
    assert len(events(user, SecurityEvent.Type.MFA_UNLOCKED)) == 1
