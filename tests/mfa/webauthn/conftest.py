"""Security-key fixtures: the site at SITE (RP ID twostep.example), a software
authenticator for it, and the requests webauthn.js makes, made by the test client."""

import json

import pytest
from django.test import Client

from tests.authenticator import Authenticator, b64url, give_key
from tests.helpers import SITE
from twostep.accounts.models import User
from twostep.mfa.models import SecurityKey

RP_ID = "twostep.example"
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""


@pytest.fixture
def authenticator() -> Authenticator:
    return Authenticator(origin=SITE, rp_id=RP_ID)


@pytest.fixture
def key(user: User, authenticator: Authenticator, frozen) -> SecurityKey:
    """Ada's security key (and no app), time frozen at NOW."""
    return give_key(user, authenticator)


def options(client: Client, url: str, data: dict | None = None) -> dict:
    response = client.post(url, data or {}, **JSON)
    assert response.status_code == 200, response.content
    return response.json()["publicKey"]


def register(client: Client, authenticator: Authenticator, name: str = "YubiKey", **answer):
    """Add a key in Settings as webauthn.js does: options, the authenticator, the answer."""
    created = authenticator.create(
        options(client, "/settings/2fa/keys/add/options/", {"name": name}), **answer
    )
    return client.post("/settings/2fa/keys/add/", {"name": name, "credential": created}, **JSON)


def key_answer(client: Client, authenticator: Authenticator, **answer) -> str:
    """The second step's options for this pending login, answered by `authenticator`."""
    return authenticator.get(options(client, "/login/key/options/"), **answer)


def send_key(client: Client, credential: str):
    return client.post("/login/key/", {"credential": credential}, **JSON)


def passkey_answer(client: Client, authenticator: Authenticator, **answer) -> str:
    return authenticator.get(options(client, "/login/passkey/options/"), **answer)


def send_passkey(client: Client, credential: str, **data):
    return client.post("/login/passkey/", {"credential": credential, **data}, **JSON)


def error(response) -> str:
    assert response.status_code == 400, response.content
    return response.json()["error"]


# A well-formed clientDataJSON, so a malformed answer is read as far as its credential ID.
CDJ = b64url(
    json.dumps({"type": "webauthn.get", "challenge": "AAAA", "origin": SITE}).encode("ascii")
)
