"""Adding a security key or passkey in Settings: the options, the stored credential, the
refusals, and what the account's first method leads to."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.authenticator import Authenticator, b64url, give_key
from tests.helpers import SITE, code_for, confirmed_session, verified_session
from tests.mfa.conftest import emails, events
from tests.mfa.webauthn.conftest import CDJ, JSON, RP_ID, error, options, register
from twostep.audit.models import SecurityEvent
from twostep.mfa import factors
from twostep.mfa.models import MAX_SECURITY_KEYS, MfaState, SecurityKey, WebAuthnChallenge
from twostep.mfa.session import marked_verified
from twostep.mfa.webauthn import challenges

ADD = "/settings/2fa/keys/add/"
OPTIONS = "/settings/2fa/keys/add/options/"


@pytest.fixture
def logged_in(client, user, frozen):
    """Ada's session, its login made with her second factor once she has one."""
    return verified_session(client, user)


def test_the_options_ask_for_a_passkey_without_attestation(logged_in, user):
    created = options(logged_in, OPTIONS, {"name": "YubiKey"})

    assert created["rp"] == {"name": "Bpart", "id": RP_ID}
    assert created["attestation"] == "none"
    assert created["authenticatorSelection"]["residentKey"] == "preferred"
    assert created["authenticatorSelection"]["userVerification"] == "preferred"
    assert created["extensions"] == {"credProps": True}
    assert created["user"]["name"] == user.email
    handle = bytes(MfaState.objects.get(user=user).webauthn_user_handle)
    assert created["user"]["id"] == b64url(handle)
    assert str(user.pk).encode() != handle and len(handle) == 32
    assert created["excludeCredentials"] == []


def test_the_challenge_is_random_bound_to_the_session_and_lives_five_minutes(logged_in, user):
    first = options(logged_in, OPTIONS, {"name": "YubiKey"})["challenge"]
    second = options(logged_in, OPTIONS, {"name": "YubiKey"})["challenge"]

    row = WebAuthnChallenge.objects.get()  # the second replaced the first
    assert b64url(bytes(row.challenge)) == second != first
    assert len(bytes(row.challenge)) == challenges.CHALLENGE_BYTES >= 32
    assert row.expires_at == timezone.now() + challenges.LIFETIME
    assert row.session_hash != logged_in.session.session_key
    assert len(row.session_hash) == 64 and row.user == user


def test_adding_the_first_key_turns_2fa_on_and_leads_to_the_recovery_codes(
    logged_in, user, authenticator
):
    response = register(logged_in, authenticator, "YubiKey 5C")

    assert response.status_code == 200
    assert response.json() == {"redirect": "/settings/2fa/recovery-codes/"}
    key = SecurityKey.objects.get(user=user)
    assert (key.name, key.credential_id) == ("YubiKey 5C", authenticator.id)
    assert bytes(key.public_key) == authenticator.cose_public_key()
    assert key.discoverable is True and key.transports == ["usb", "nfc"]
    assert key.aaguid == "00000000-0000-0000-0000-000000000000"
    assert (key.backup_eligible, key.backed_up, key.sign_count) == (False, False, 0)
    assert MfaState.objects.get(user=user).methods == 1
    assert [e.details["key"] for e in events(user, SecurityEvent.Type.KEY_ADDED)] == ["YubiKey 5C"]
    assert len(events(user, SecurityEvent.Type.MFA_ENABLED)) == 1
    [email] = emails(user, "Two-factor authentication is now on: a security key was added")
    assert "YubiKey 5C" in email.body
    assert not WebAuthnChallenge.objects.exists()  # used up


def test_a_second_key_excludes_the_first_and_leads_back_to_settings(logged_in, user, authenticator):
    give_key(user, authenticator)
    other = Authenticator(origin=SITE, rp_id=RP_ID, resident=False, backup=True)

    created = options(logged_in, OPTIONS, {"name": "Phone"})
    assert [c["id"] for c in created["excludeCredentials"]] == [authenticator.id]
    response = logged_in.post(ADD, {"name": "Phone", "credential": other.create(created)}, **JSON)

    assert response.json() == {"redirect": "/settings/"}
    key = SecurityKey.objects.get(credential_id=other.id)
    assert (key.discoverable, key.backup_eligible, key.backed_up) == (False, True, True)
    assert emails(user, "A security key was added to your account")


@pytest.mark.parametrize(
    "answer, reason",
    [
        ({"origin": "https://twostep.example.evil"}, "another address"),
        ({"rp_id": "evil.example"}, "another site"),
    ],
)
def test_an_answer_for_another_site_is_refused(logged_in, user, authenticator, answer, reason):
    message = error(register(logged_in, authenticator, **answer))

    assert reason in message
    assert not SecurityKey.objects.exists()
    assert not events(user, SecurityEvent.Type.KEY_ADDED)


@pytest.mark.parametrize(
    "credential",
    [
        "",
        "not json",
        "[]",
        '{"id": 1}',
        "{" * 70000,
        '{"id": "\\ud800", "response": {"clientDataJSON": "' + CDJ + '"}}',
        '{"id": "\\u0000", "response": {"clientDataJSON": "' + CDJ + '"}}',
    ],
)
def test_a_malformed_answer_is_refused(logged_in, credential):
    options(logged_in, OPTIONS, {"name": "YubiKey"})
    response = logged_in.post(ADD, {"name": "YubiKey", "credential": credential}, **JSON)

    assert "could not be read" in error(response)
    assert not SecurityKey.objects.exists()


def test_an_answer_is_used_once(logged_in, user, authenticator):
    created = authenticator.create(options(logged_in, OPTIONS, {"name": "YubiKey"}))
    assert (
        logged_in.post(ADD, {"name": "YubiKey", "credential": created}, **JSON).status_code == 200
    )

    again = logged_in.post(ADD, {"name": "Again", "credential": created}, **JSON)

    assert "expired or was already used" in error(again)
    assert SecurityKey.objects.count() == 1


def test_an_answer_from_another_session_is_refused(logged_in, user, authenticator, client):
    created = authenticator.create(options(logged_in, OPTIONS, {"name": "YubiKey"}))
    other = verified_session(type(client)(), user)

    response = other.post(ADD, {"name": "YubiKey", "credential": created}, **JSON)

    assert "expired or was already used" in error(response)
    assert not SecurityKey.objects.exists()


def test_an_answer_after_five_minutes_is_refused(logged_in, authenticator, frozen):
    created = authenticator.create(options(logged_in, OPTIONS, {"name": "YubiKey"}))
    frozen.shift(challenges.LIFETIME.total_seconds() + 1)

    response = logged_in.post(ADD, {"name": "YubiKey", "credential": created}, **JSON)

    assert "expired" in error(response)


def test_the_same_key_cannot_be_added_twice(logged_in, user, authenticator, make_user):
    give_key(make_user("grace@example.com", "Grace Hopper"), authenticator)

    message = error(register(logged_in, authenticator))

    assert "already registered" in message
    assert not SecurityKey.objects.filter(user=user).exists()


def test_an_account_holds_at_most_ten_keys(logged_in, user):
    for n in range(MAX_SECURITY_KEYS):
        give_key(user, Authenticator(origin=SITE, rp_id=RP_ID), f"Key {n}")

    response = logged_in.post(OPTIONS, {"name": "One more"}, **JSON)

    assert "Remove one first" in error(response)
    assert "the most it can have" in logged_in.get(ADD).content.decode()


def test_the_name_is_required_and_tidied(logged_in, authenticator):
    assert "Give the key a name" in error(logged_in.post(OPTIONS, {"name": "  "}, **JSON))
    assert "Use letters" in error(logged_in.post(OPTIONS, {"name": "a\x07b"}, **JSON))

    register(logged_in, authenticator, "  My   key ")

    assert SecurityKey.objects.get().name == "My key"


def test_the_form_sent_without_the_script_says_what_it_needs(logged_in):
    response = logged_in.post(ADD, {"name": "YubiKey"})

    assert response.status_code == 400
    assert "needs JavaScript" in response.content.decode()


def test_the_add_page_loads_its_script_and_a_live_region(logged_in):
    page = logged_in.get(ADD).content.decode()

    assert '<script src="/static/twostep/webauthn.js" defer></script>' in page
    assert 'data-webauthn="register"' in page and 'aria-live="polite"' in page
    assert "<script>" not in page  # nothing inline: the CSP allows none


def test_anonymous_visitors_cannot_add_keys(db, client):
    response = client.post(OPTIONS, {"name": "YubiKey"}, **JSON)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not WebAuthnChallenge.objects.exists()


def test_a_session_without_a_recent_confirmation_adds_no_key(client, user, authenticator, frozen):
    """A passkey logs in alone, so a session that has not just proved the password and the
    second factor must not make one; the script is told, in JSON, where to confirm."""
    client.force_login(user)  # logged in, but not confirmed (or long ago)
    give_key(user, Authenticator(origin=SITE, rp_id=RP_ID))

    response = client.post(OPTIONS, {"name": "Phone"}, **JSON)
    assert response.status_code == 403 and "Confirm it's you" in response.json()["error"]
    assert response.json()["redirect"] == "/confirm/?next=%2Fsettings%2F2fa%2Fkeys%2Fadd%2F"
    other = verified_session(type(client)(), user)
    sneaked = authenticator.create(options(other, OPTIONS, {"name": "Phone"}))
    refused = client.post(ADD, {"name": "Phone", "credential": sneaked}, **JSON)
    assert refused.status_code == 403 and refused.json()["redirect"].startswith("/confirm/")
    page = client.get(ADD)
    assert page.status_code == 302 and page["Location"].startswith("/confirm/")
    assert SecurityKey.objects.filter(user=user).count() == 1


def test_the_session_that_added_the_first_key_may_add_a_second_but_is_not_verified(
    client, user, authenticator, frozen
):
    """Adding a factor proves only the password (the factor is the one just made): staff
    pages still wait for a login with it. But the session that turned 2FA on, the
    account's only one left, may go on adding keys within its confirmation."""
    confirmed_session(client, user)
    assert register(client, authenticator).status_code == 200

    assert not marked_verified(client.session)
    second = Authenticator(origin=SITE, rp_id=RP_ID)
    assert register(client, second, name="Phone").status_code == 200
    assert SecurityKey.objects.filter(user=user).count() == 2


def test_the_session_that_turned_the_app_on_may_add_a_key(client, user, authenticator, frozen):
    confirmed_session(client, user)
    client.post(reverse("mfa:enable"))
    secret = factors.pending_device(user).secret()
    assert client.post(reverse("mfa:setup"), {"code": code_for(secret)}).status_code == 302

    assert not marked_verified(client.session)
    assert register(client, authenticator).status_code == 200
    assert MfaState.objects.get(user=user).methods == 2
