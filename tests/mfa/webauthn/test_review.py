"""What a review of the WebAuthn part asked for: each purpose's challenge serves only that
purpose, expiry and other sessions refused at every step, the JSON endpoints under CSRF,
the anonymous options limited per address, credentials kept out of error reports, and the
ten-key limit under a race."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.authenticator import Authenticator, give_key
from tests.concurrency import at_once
from tests.helpers import PASSWORD, SITE, submit_password, verified_session
from tests.mfa.webauthn.conftest import (
    JSON,
    RP_ID,
    error,
    key_answer,
    options,
    passkey_answer,
    send_key,
    send_passkey,
)
from twostep.accounts.models import LoginThrottle
from twostep.mfa.models import MAX_SECURITY_KEYS, MfaState, SecurityKey, WebAuthnChallenge
from twostep.mfa.webauthn import challenges, passkey_throttle

Purpose = WebAuthnChallenge.Purpose


@pytest.mark.parametrize("given", list(Purpose))
def test_each_purposes_challenge_is_refused_for_every_other_purpose(client, user, frozen, given):
    client.get("/login/")
    session = client.session
    owner = None if given == Purpose.PASSWORDLESS else user
    challenge = challenges.issue(session=session, purpose=given, user=owner)
    now = timezone.now()

    for other in Purpose:
        if other != given:
            assert not challenges.consume(
                session=session, purpose=other, user=owner, challenge=challenge, now=now
            ), other
            assert not challenges.consume(
                session=session, purpose=other, user=None, challenge=challenge, now=now
            ), other
    assert challenges.consume(
        session=session, purpose=given, user=owner, challenge=challenge, now=now
    )


def test_confirming_its_you_has_its_own_challenge(client, user, frozen):
    authenticator = Authenticator(origin=SITE, rp_id=RP_ID)
    give_key(user, authenticator)
    verified_session(client, user)

    options(client, "/confirm/key/options/", {"password": "typed, checked with the answer"})

    assert list(WebAuthnChallenge.objects.values_list("purpose", flat=True)) == ["confirm"]


def test_expired_challenges_are_found_by_an_index():
    assert ["expires_at"] in [index.fields for index in WebAuthnChallenge._meta.indexes]


@pytest.fixture
def pending(client, user, frozen):
    authenticator = Authenticator(origin=SITE, rp_id=RP_ID)
    give_key(user, authenticator)
    assert submit_password(client)["Location"] == "/login/code/"
    return client, authenticator


def test_a_second_step_answer_after_five_minutes_is_refused(pending, user, frozen):
    client, authenticator = pending
    answer = key_answer(client, authenticator)
    # The pending login itself lasts no longer: the challenge's own deadline, reached.
    WebAuthnChallenge.objects.update(expires_at=timezone.now())

    assert "already used or has expired" in error(send_key(client, answer))
    assert client.session.get("_auth_user_id") is None


def test_a_second_step_answer_from_another_session_is_refused(pending, user, make_user):
    client, authenticator = pending
    answer = key_answer(client, authenticator)
    other = Client()
    assert submit_password(other)["Location"] == "/login/code/"

    assert "already used or has expired" in error(send_key(other, answer))
    assert other.session.get("_auth_user_id") is None
    assert send_key(client, answer).status_code == 200  # still its own session's


@pytest.fixture
def passkey(user, frozen) -> Authenticator:
    authenticator = Authenticator(origin=SITE, rp_id=RP_ID, counter_step=0)
    give_key(user, authenticator, "Phone")
    return authenticator


def test_a_passkey_answer_after_five_minutes_is_refused(client, user, passkey, frozen):
    answer = passkey_answer(client, passkey)
    frozen.shift(timedelta(minutes=5, seconds=1))

    assert "already used or has expired" in error(send_passkey(client, answer))
    assert client.session.get("_auth_user_id") is None
    assert MfaState.objects.get(user=user).failure_count == 0


def test_a_passkey_answer_from_another_session_is_refused(client, user, passkey):
    answer = passkey_answer(client, passkey)
    other = Client()
    other.get("/login/")

    assert "already used or has expired" in error(send_passkey(other, answer))
    assert other.session.get("_auth_user_id") is None
    assert send_passkey(client, answer).status_code == 200


def test_the_json_endpoints_need_the_csrf_token(user, passkey):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/login/")
    token = browser.cookies["csrftoken"].value

    assert browser.post("/login/passkey/options/", **JSON).status_code == 403
    offered = browser.post("/login/passkey/options/", HTTP_X_CSRFTOKEN=token, **JSON)
    assert offered.status_code == 200
    answer = passkey.get(offered.json()["publicKey"])
    assert browser.post("/login/passkey/", {"credential": answer}, **JSON).status_code == 403
    done = browser.post("/login/passkey/", {"credential": answer}, HTTP_X_CSRFTOKEN=token, **JSON)
    assert done.status_code == 200 and browser.session["_auth_user_id"] == str(user.pk)


def test_the_key_endpoints_need_the_csrf_token(user, frozen):
    authenticator = Authenticator(origin=SITE, rp_id=RP_ID)
    give_key(user, authenticator)
    browser = Client(enforce_csrf_checks=True)
    browser.get("/login/")
    token = browser.cookies["csrftoken"].value
    login = {"email": user.email, "password": PASSWORD}
    assert browser.post("/login/", login, HTTP_X_CSRFTOKEN=token)["Location"] == "/login/code/"

    assert browser.post("/login/key/options/", **JSON).status_code == 403
    offered = browser.post("/login/key/options/", HTTP_X_CSRFTOKEN=token, **JSON)
    answer = authenticator.get(offered.json()["publicKey"])
    assert browser.post("/login/key/", {"credential": answer}, **JSON).status_code == 403
    done = browser.post("/login/key/", {"credential": answer}, HTTP_X_CSRFTOKEN=token, **JSON)
    assert done.status_code == 200 and browser.session["_auth_user_id"] == str(user.pk)


def test_the_anonymous_options_are_limited_per_address_and_replace_their_challenge(db, client):
    for _ in range(passkey_throttle.OPTIONS_PER_WINDOW):
        assert client.post("/login/passkey/options/", **JSON).status_code == 200
    assert WebAuthnChallenge.objects.count() == 1  # one browser, one challenge

    refused = client.post("/login/passkey/options/", **JSON)
    assert refused.status_code == 429 and "Too many" in refused.json()["error"]
    assert Client().post("/login/passkey/options/", **JSON).status_code == 429  # same address
    assert WebAuthnChallenge.objects.count() == 1
    assert LoginThrottle.objects.filter(key__startswith="passkey-options:").count() == 1


def test_the_anonymous_options_are_allowed_again_after_the_window(db, client, frozen):
    for _ in range(passkey_throttle.OPTIONS_PER_WINDOW):
        client.post("/login/passkey/options/", **JSON)
    frozen.shift(passkey_throttle.OPTIONS_WINDOW + timedelta(seconds=1))

    assert client.post("/login/passkey/options/", **JSON).status_code == 200


@pytest.mark.parametrize(
    "url",
    ["/login/key/", "/login/passkey/", "/settings/2fa/keys/add/", "/confirm/key/"],
)
def test_the_credential_is_kept_out_of_error_reports(client, user, frozen, url):
    if url.startswith(("/settings", "/confirm")):
        verified_session(client, user)

    response = client.post(url, {"credential": "{}", "name": "Key", "password": "x"})

    assert "credential" in response.wsgi_request.sensitive_post_parameters


@pytest.mark.django_db(transaction=True)
def test_racing_additions_stop_at_ten_keys(user):
    for n in range(MAX_SECURITY_KEYS - 2):
        give_key(user, Authenticator(origin=SITE, rp_id=RP_ID), f"Key {n}")
    racers = []
    for n in range(4):
        browser = verified_session(Client(), user)
        authenticator = Authenticator(origin=SITE, rp_id=RP_ID)
        created = authenticator.create(
            options(browser, "/settings/2fa/keys/add/options/", {"name": f"Racer {n}"})
        )
        racers.append((browser, {"name": f"Racer {n}", "credential": created}))

    outcome = at_once(
        *[lambda b=b, d=d: b.post("/settings/2fa/keys/add/", d, **JSON) for b, d in racers]
    )

    assert outcome.errors == []
    assert sorted(r.status_code for r in outcome.results) == [200, 200, 400, 400]
    assert SecurityKey.objects.filter(user=user).count() == MAX_SECURITY_KEYS
