"""'Confirm it's you' with a security key or passkey (webauthn.js's requests, made by the
test client): the password and the key's answer, judged like a login's, with a challenge
of its own; a refused key is counted, and a wrong password leaves the key unjudged."""

import pytest

from tests.authenticator import Authenticator, give_key
from tests.helpers import PASSWORD, SITE, mfa_state, verified_session
from tests.mfa.conftest import events
from tests.mfa.webauthn.conftest import JSON, RP_ID, error, options
from twostep.audit.models import SecurityEvent
from twostep.mfa.models import MfaState, SecurityKey, WebAuthnChallenge

OPTIONS = "/confirm/key/options/"
ANSWER = "/confirm/key/"
DISABLE = "/settings/2fa/disable/"


@pytest.fixture
def authenticator(settings) -> Authenticator:
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""
    return Authenticator(origin=SITE, rp_id=RP_ID)


@pytest.fixture
def owner(client, user, authenticator, frozen):
    """Ada with a security key (no app), logged in with it 11 minutes ago."""
    give_key(user, authenticator)
    verified_session(client, user)
    frozen.shift(660)
    return client


def answer(client, authenticator, password: str = PASSWORD, by=None):
    offered = options(client, OPTIONS, {"password": password, "next": DISABLE})
    credential = (by or authenticator).get(offered)
    return client.post(
        ANSWER, {"password": password, "next": DISABLE, "credential": credential}, **JSON
    )


def test_the_page_offers_the_key_with_the_password(owner):
    page = owner.get("/confirm/", {"next": DISABLE}).content.decode()
    assert 'data-webauthn="key"' in page and 'name="password"' in page
    assert 'name="code"' not in page  # no app on the account


def test_the_password_and_the_key_open_the_window_and_lead_back(owner, user, authenticator):
    assert owner.get(DISABLE).status_code == 302
    response = answer(owner, authenticator)
    assert response.json() == {"redirect": DISABLE}
    [event] = events(user, SecurityEvent.Type.CONFIRMED_IDENTITY)
    assert event.details["method"] == "key"
    assert owner.post(DISABLE, {"confirm": "on"}).status_code == 302
    assert not SecurityKey.objects.filter(user=user).exists()
    assert MfaState.objects.get(user=user).methods == 0


def test_the_options_wait_for_the_password(owner):
    response = owner.post(OPTIONS, {}, **JSON)
    assert error(response) == "Enter your password."
    assert not WebAuthnChallenge.objects.exists()


def test_another_key_is_refused_and_counted(owner, user, authenticator):
    stranger = Authenticator(origin=SITE, rp_id=RP_ID)
    assert "not registered for this account" in error(answer(owner, authenticator, by=stranger))
    assert mfa_state(user).failure_count == 1
    [refused] = events(user, SecurityEvent.Type.KEY_REFUSED)
    assert refused.details["purpose"] == "confirm"
    assert not events(user, SecurityEvent.Type.CONFIRMED_IDENTITY)
    assert owner.get(DISABLE).status_code == 302


def test_a_wrong_password_leaves_the_key_unjudged(owner, user, authenticator):
    message = error(answer(owner, authenticator, password="not it"))
    assert message == "That is not your password. Try again."
    assert len(events(user, SecurityEvent.Type.LOGIN_FAILED)) == 1
    assert mfa_state(user).failure_count == 0
    assert WebAuthnChallenge.objects.count() == 1  # its challenge not used up
    assert owner.get(DISABLE).status_code == 302


def test_a_form_sent_without_the_script_is_told_and_counts_nothing(owner, user):
    response = owner.post(ANSWER, {"password": PASSWORD, "next": DISABLE})
    assert response.status_code == 302 and response["Location"].startswith("/confirm/")
    assert mfa_state(user).failure_count == 0
    assert not events(user, SecurityEvent.Type.LOGIN_FAILED)


def test_logged_out_the_script_is_sent_to_the_login(client, db):
    for url in (OPTIONS, ANSWER):
        response = client.post(url, {"password": PASSWORD}, **JSON)
        assert response.status_code == 401 and response.json()["redirect"] == "/login/"
