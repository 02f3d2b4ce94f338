"""Signing in with a passkey alone: a discoverable credential with user verification logs
its account in fully; everything else is refused, and no 500."""

import pytest

from tests.authenticator import Authenticator, give_key
from tests.helpers import SITE, enable_2fa, submit_password
from tests.mfa.conftest import events
from tests.mfa.webauthn.conftest import CDJ, RP_ID, error, options, passkey_answer, send_passkey
from twostep.accounts.models import LoginThrottle
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mfa.models import MfaState, SecurityKey
from twostep.mfa.session import marked_verified
from twostep.mfa.webauthn import passkey_throttle


@pytest.fixture
def passkey(user, frozen) -> Authenticator:
    authenticator = Authenticator(origin=SITE, rp_id=RP_ID, counter_step=0, backup=True)
    give_key(user, authenticator, "Phone")
    return authenticator


def logged_in(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def test_the_login_page_offers_passkeys_in_a_button_and_the_autofill(client):
    page = client.get("/login/").content.decode()

    assert "Sign in with a passkey" in page and 'data-webauthn="passkey"' in page
    assert 'autocomplete="username webauthn"' in page and "data-autofill" in page


def test_a_passkey_logs_its_account_in_with_the_second_factor(client, user, passkey):
    offered = options(client, "/login/passkey/options/")
    assert offered["allowCredentials"] == [] and offered["userVerification"] == "required"

    response = send_passkey(client, passkey.get(offered), next="/settings/")

    assert response.json() == {"redirect": "/settings/"}
    assert logged_in(client, user) and marked_verified(client.session)
    [login] = events(user, SecurityEvent.Type.LOGIN)
    assert login.details == {"second_factor": True}
    assert SecurityKey.objects.get(user=user).last_used_at is not None


def test_a_passkey_login_supersedes_a_password_step_in_progress(client, user, passkey, make_user):
    enable_2fa(make_user("grace@example.com", "Grace Hopper"))
    assert submit_password(client, "grace@example.com")["Location"] == "/login/code/"

    assert send_passkey(client, passkey_answer(client, passkey)).status_code == 200
    assert logged_in(client, user) and "twostep_pending_login" not in client.session


def refused_for_the_address(user, reason: str) -> None:
    """A passwordless failure before the signature verified: recorded with no account,
    counted against the client's address, never in the account's throttle."""
    [event] = SecurityEvent.objects.filter(type=SecurityEvent.Type.KEY_REFUSED)
    assert event.subject is None and event.details["reason"] == reason
    assert MfaState.objects.get(user=user).failure_count == 0
    assert LoginThrottle.objects.get(key="passkey:127.0.0.1").failure_count == 1
    assert not events(user, SecurityEvent.Type.CODE_REUSE)
    assert not OutgoingEmail.objects.filter(to=user.email).exists()


def test_without_user_verification_it_is_refused_and_counted_for_the_address(client, user):
    passkey = Authenticator(origin=SITE, rp_id=RP_ID, user_verified=False)
    give_key(user, passkey)

    assert "check it was you" in error(send_passkey(client, passkey_answer(client, passkey)))
    assert not logged_in(client, user)
    refused_for_the_address(user, "user_verification")


def test_an_unknown_passkey_is_recorded_without_an_account_and_refused(client, user, passkey):
    stranger = Authenticator(origin=SITE, rp_id=RP_ID, user_handle=b"x" * 32)

    assert "not registered here" in error(send_passkey(client, passkey_answer(client, stranger)))
    [event] = SecurityEvent.objects.filter(type=SecurityEvent.Type.KEY_REFUSED)
    assert event.subject is None and event.details["reason"] == "unknown_credential"
    assert MfaState.objects.get(user=user).failure_count == 0


def test_a_user_handle_of_another_account_is_refused_and_counted(client, user, passkey):
    wrong = passkey_answer(client, passkey, user_handle=b"someone else's handle")

    assert "not registered for this account" in error(send_passkey(client, wrong))
    assert not logged_in(client, user)
    refused_for_the_address(user, "user_handle")


def test_a_passkey_answer_for_another_origin_is_refused(client, user, passkey):
    wrong = passkey_answer(client, passkey, origin="https://evil.example")

    assert "another address" in error(send_passkey(client, wrong))
    assert not logged_in(client, user)
    refused_for_the_address(user, "origin")


def test_a_forged_passkey_answer_never_charges_the_account(client, user, passkey):
    """Anyone may know a credential ID: their answers cost the account nothing, not even
    once its free tries would be used up, and they are held back per address."""
    forger = Authenticator(
        origin=SITE,
        rp_id=RP_ID,
        credential_id=passkey.credential_id,
        user_handle=passkey.user_handle,
    )
    for _ in range(passkey_throttle.FREE):
        assert "could not be verified" in error(
            send_passkey(client, passkey_answer(client, forger))
        )
    assert "Too many failed passkey logins" in error(
        send_passkey(client, passkey_answer(client, forger))
    )
    assert MfaState.objects.get(user=user).failure_count == 0
    assert not events(user, SecurityEvent.Type.KEY_REFUSED)
    assert not OutgoingEmail.objects.filter(to=user.email).exists()


def test_a_replayed_passkey_answer_is_not_charged_to_the_account(client, user, passkey):
    answer = passkey_answer(client, passkey)
    assert send_passkey(client, answer).status_code == 200
    client.logout()

    assert "already used" in error(send_passkey(client, answer))
    refused_for_the_address(user, "replayed")


@pytest.mark.parametrize(
    "credential",
    [
        "",
        "{",
        '{"id": []}',
        '"just a string"',
        '{"id": "\\ud800", "response": {"clientDataJSON": "' + CDJ + '"}}',
        '{"id": "a\\u0000b", "response": {"clientDataJSON": "' + CDJ + '"}}',
        '{"id": "abc", "rawId": "\\u0000", "response": {"clientDataJSON": "' + CDJ + '"}}',
        '{"id": "ab+c", "response": {"clientDataJSON": "' + CDJ + '"}}',
    ],
)
def test_malformed_json_is_recorded_and_refused(db, client, credential):
    assert "could not be read" in error(send_passkey(client, credential))
    assert (
        SecurityEvent.objects.filter(type=SecurityEvent.Type.KEY_REFUSED, subject=None).count() == 1
    )


def test_a_deactivated_accounts_passkey_is_unknown(client, user, passkey):
    user.is_active = False
    user.save(update_fields=["is_active"])

    assert "not registered here" in error(send_passkey(client, passkey_answer(client, passkey)))


def test_the_form_sent_without_the_script_is_told_what_it_needs(db, client):
    response = client.post("/login/passkey/")

    assert response.status_code == 302 and response["Location"] == "/login/"
    page = client.get("/login/").content.decode()
    assert "need JavaScript" in page
