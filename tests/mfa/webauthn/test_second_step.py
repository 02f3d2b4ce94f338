"""The second step of a login with a security key: the pending login's account's keys
only, every refusal counted in the shared throttle, the sign count, single use."""

import base64
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.authenticator import Authenticator, give_key
from tests.helpers import SITE, give_recovery_codes, submit_password
from tests.mfa.conftest import emails, events
from tests.mfa.webauthn.conftest import CDJ, JSON, RP_ID, error, key_answer, options, send_key
from twostep.audit.models import SecurityEvent
from twostep.mfa.models import LOCK_AFTER, MfaState, RecoveryCode, SecurityKey, WebAuthnChallenge
from twostep.mfa.session import marked_verified
from twostep.mfa.webauthn import assertions


@pytest.fixture
def pending(client, key) -> Client:
    """Ada's browser after her password, before her key."""
    assert submit_password(client)["Location"] == "/login/code/"
    return client


def failures(user) -> int:
    return MfaState.objects.get(user=user).failure_count


def logged_in(client: Client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def test_the_key_completes_the_login(pending, user, authenticator, key, frozen):
    page = pending.get("/login/code/").content.decode()
    assert 'data-webauthn="key"' in page and "Use security key" in page

    allowed = options(pending, "/login/key/options/")
    assert [c["id"] for c in allowed["allowCredentials"]] == [authenticator.id]
    assert allowed["userVerification"] == "preferred" and allowed["rpId"] == RP_ID
    response = send_key(pending, authenticator.get(allowed))

    assert response.json() == {"redirect": "/profile/"}
    assert logged_in(pending, user) and marked_verified(pending.session)
    [login] = events(user, SecurityEvent.Type.LOGIN)
    assert login.details == {"second_factor": True}
    key.refresh_from_db()
    assert (key.sign_count, key.last_used_at) == (1, timezone.now())
    assert not WebAuthnChallenge.objects.exists()


def test_only_the_pending_accounts_keys_are_offered(pending, make_user):
    grace = make_user("grace@example.com", "Grace Hopper")
    give_key(grace, Authenticator(origin=SITE, rp_id=RP_ID))

    allowed = options(pending, "/login/key/options/")["allowCredentials"]

    assert [c["id"] for c in allowed] == [
        SecurityKey.objects.get(user__email="ada@example.com").credential_id
    ]


def test_another_accounts_key_is_refused_and_counted(pending, user, make_user):
    graces = Authenticator(origin=SITE, rp_id=RP_ID)
    give_key(make_user("grace@example.com", "Grace Hopper"), graces)

    message = error(send_key(pending, key_answer(pending, graces)))

    assert "not registered for this account" in message
    assert not logged_in(pending, user) and failures(user) == 1
    assert len(events(user, SecurityEvent.Type.KEY_REFUSED)) == 1


def test_an_unknown_key_is_refused_and_counted(pending, user):
    stranger = Authenticator(origin=SITE, rp_id=RP_ID)

    assert "not registered" in error(send_key(pending, key_answer(pending, stranger)))
    assert failures(user) == 1


@pytest.mark.parametrize(
    "answer, reason",
    [
        ({"origin": "https://twostep.example.evil"}, "another address"),
        ({"origin": "http://twostep.example"}, "another address"),
        ({"rp_id": "example"}, "another site"),
    ],
)
def test_an_answer_for_another_site_is_refused_and_counted(
    pending, user, authenticator, answer, reason
):
    assert reason in error(send_key(pending, key_answer(pending, authenticator, **answer)))
    assert not logged_in(pending, user) and failures(user) == 1


@pytest.mark.parametrize(
    "credential",
    [
        "",
        "null",
        "{}",
        "[1]",
        '{"id": "x", "response": {}}',
        '{"id": "x", "response": {"clientDataJSON": "!!"}}',
        '{"id": "\\ud800", "response": {"clientDataJSON": "' + CDJ + '"}}',
        '{"id": "a\\u0000b", "response": {"clientDataJSON": "' + CDJ + '"}}',
        '{"id": "abc", "rawId": "a\\u0000", "response": {"clientDataJSON": "' + CDJ + '"}}',
        '{"id": "' + "a" * 1401 + '", "response": {"clientDataJSON": "' + CDJ + '"}}',
    ],
)
def test_malformed_json_is_refused_and_counted_never_a_500(pending, user, credential):
    assert "could not be read" in error(send_key(pending, credential))
    assert failures(user) == 1


def test_a_forged_signature_is_refused_and_counted(pending, user, authenticator):
    answer = key_answer(pending, authenticator)
    impostor = Authenticator(origin=SITE, rp_id=RP_ID, credential_id=authenticator.credential_id)
    forged = impostor.get({"challenge": _challenge(answer)})

    assert "could not be verified" in error(send_key(pending, forged))
    assert failures(user) == 1


def _challenge(credential: str) -> str:
    client_data = json.loads(credential)["response"]["clientDataJSON"]
    return json.loads(base64.urlsafe_b64decode(client_data + "=="))["challenge"]


def test_a_sign_count_that_goes_backwards_is_refused_recorded_and_mailed(
    pending, user, authenticator, key
):
    SecurityKey.objects.filter(pk=key.pk).update(sign_count=7)

    message = error(send_key(pending, key_answer(pending, authenticator, counter=5)))

    assert "may have been copied" in message
    assert not logged_in(pending, user)
    [event] = events(user, SecurityEvent.Type.KEY_SIGN_COUNT_REGRESSED)
    assert event.details == {
        "key": "YubiKey",
        "key_id": key.pk,
        "stored_count": 7,
        "answered_count": 5,
    }
    [email] = emails(user, "A copy of your security key may exist")
    assert "YubiKey" in email.body
    key.refresh_from_db()
    assert (key.sign_count, key.last_used_at) == (7, None)


def test_a_sign_count_that_stays_put_is_refused(pending, authenticator, key):
    SecurityKey.objects.filter(pk=key.pk).update(sign_count=5)

    assert "may have been copied" in error(
        send_key(pending, key_answer(pending, authenticator, counter=5))
    )


def test_a_zero_count_back_to_zero_after_a_count_is_refused(pending, authenticator, key):
    SecurityKey.objects.filter(pk=key.pk).update(sign_count=3)

    assert "may have been copied" in error(
        send_key(pending, key_answer(pending, authenticator, counter=0))
    )


def test_a_passkey_that_never_counts_is_accepted_each_time(client, user, frozen):
    passkey = Authenticator(origin=SITE, rp_id=RP_ID, counter_step=0, backup=True)
    key = give_key(user, passkey)
    for _ in range(2):
        client.logout()
        submit_password(client)
        assert send_key(client, key_answer(client, passkey)).status_code == 200
    key.refresh_from_db()
    assert (key.sign_count, key.backed_up) == (0, True)


def test_a_throttled_account_is_refused_without_using_the_challenge(
    pending, user, authenticator, frozen
):
    answer = key_answer(pending, authenticator)
    MfaState.objects.filter(user=user).update(
        failure_count=9, next_try_at=timezone.now() + timedelta(minutes=1)
    )

    response = send_key(pending, answer)

    assert response.status_code == 400 and not logged_in(pending, user)
    assert WebAuthnChallenge.objects.count() == 1


def test_without_a_pending_login_nothing_is_offered(client, key):
    response = client.post("/login/key/options/", **JSON)

    assert response.status_code == 400 and response.json()["redirect"] == "/login/"
    assert not WebAuthnChallenge.objects.exists()


def test_a_success_clears_the_failures(pending, user, authenticator):
    send_key(pending, "garbage")
    assert failures(user) == 1

    assert send_key(pending, key_answer(pending, authenticator)).status_code == 200
    assert failures(user) == 0


def test_a_lock_set_while_the_answer_was_judged_holds_it_back(
    pending, user, authenticator, key, monkeypatch
):
    answer = key_answer(pending, authenticator)
    MfaState.objects.filter(user=user).update(failure_count=LOCK_AFTER)
    # As if the throttle had been read just before others locked it: the sign count's
    # UPDATE re-checks it.
    monkeypatch.setattr(assertions, "_throttled", lambda user, now: None)

    assert "locked" in error(send_key(pending, answer))
    assert not logged_in(pending, user)
    key.refresh_from_db()
    assert (key.sign_count, key.last_used_at) == (0, None)


def test_with_every_recovery_code_used_the_key_login_leads_to_new_ones(
    pending, user, authenticator
):
    give_recovery_codes(user)
    RecoveryCode.objects.filter(user=user).update(used_at=timezone.now())

    response = send_key(pending, key_answer(pending, authenticator))

    assert response.json() == {"redirect": "/settings/2fa/recovery-codes/?next=%2Fprofile%2F"}
    assert logged_in(pending, user)
