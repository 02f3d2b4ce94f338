"""The ceremonies against answers made by a real (virtual) authenticator: Chromium's, for
http://localhost:8000, recorded by record_chromium.py into chromium_passkey.json."""

import json
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.utils import timezone

from tests.authenticator import b64url, unb64url
from twostep.mfa.models import MfaState, SecurityKey, WebAuthnChallenge
from twostep.mfa.webauthn import assertions, ceremonies, challenges

RECORDED = json.loads(Path(__file__).with_name("chromium_passkey.json").read_text())


@pytest.fixture(autouse=True)
def recorded_site(settings):
    settings.TWOSTEP_SITE_URL = RECORDED["origin"]


def registered() -> ceremonies.NewCredential:
    answer = ceremonies.read_answer(json.dumps(RECORDED["registration"]))
    return ceremonies.verify_registration(
        answer, challenge=unb64url(RECORDED["register_challenge"])
    )


def test_chromiums_registration_is_verified_and_read():
    new = registered()

    assert new.credential_id == RECORDED["registration"]["id"]
    assert new.discoverable is True  # credProps: a passkey
    assert "internal" in new.transports
    assert new.public_key[:1] in (b"\xa5", b"\xa4")  # a COSE key map


def test_chromiums_registration_for_another_site_is_refused(settings):
    settings.TWOSTEP_SITE_URL = "http://localhost:8001"

    with pytest.raises(ceremonies.Refused) as refused:
        registered()
    assert refused.value.reason == "origin"


def test_chromiums_assertion_is_verified_with_the_registered_key():
    new = registered()
    answer = ceremonies.read_answer(json.dumps(RECORDED["assertion"]))

    verified = ceremonies.verify_assertion(
        answer,
        challenge=unb64url(RECORDED["login_challenge"]),
        public_key=new.public_key,
        require_user_verification=True,
    )

    assert verified.user_verified and verified.new_sign_count > new.sign_count
    assert answer.user_handle == unb64url(RECORDED["user_handle"])


def test_chromiums_assertion_with_a_changed_signature_is_refused():
    new = registered()
    tampered = json.loads(json.dumps(RECORDED["assertion"]))
    signature = bytearray(unb64url(tampered["response"]["signature"]))
    signature[-1] ^= 1
    tampered["response"]["signature"] = b64url(bytes(signature))

    with pytest.raises(ceremonies.Refused) as refused:
        ceremonies.verify_assertion(
            ceremonies.read_answer(json.dumps(tampered)),
            challenge=unb64url(RECORDED["login_challenge"]),
            public_key=new.public_key,
            require_user_verification=True,
        )
    assert refused.value.reason == "invalid"


def test_chromiums_passkey_logs_its_account_in_through_the_judge(user, frozen, client):
    new = registered()
    SecurityKey.objects.create(
        user=user,
        name="Chromium",
        credential_id=new.credential_id,
        public_key=new.public_key,
        sign_count=new.sign_count,
        created_at=timezone.now(),
    )
    MfaState.objects.create(
        user=user, methods=1, webauthn_user_handle=unb64url(RECORDED["user_handle"])
    )
    request = RequestFactory().post("/login/passkey/")
    request.session = client.session
    request.session.save()
    WebAuthnChallenge.objects.create(
        session_hash=challenges.session_hash(request.session),
        purpose=challenges.Purpose.PASSWORDLESS,
        challenge=unb64url(RECORDED["login_challenge"]),
        expires_at=timezone.now() + challenges.LIFETIME,
    )

    verdict = assertions.check_passkey(
        request=request, credential=json.dumps(RECORDED["assertion"])
    )

    assert verdict.check.accepted and verdict.user == user
