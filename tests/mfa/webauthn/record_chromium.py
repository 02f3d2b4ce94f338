"""Records chromium_passkey.json: a registration and an assertion made by Chromium's own
virtual authenticator (CTAP2, internal, resident key, user verification), at the origin
http://localhost:8000 with fixed challenges, for test_chromium_answers.py. No server: the
page is served by Playwright's request interception.

    .venv/bin/python tests/mfa/webauthn/record_chromium.py
"""

import base64
import json
from pathlib import Path

from playwright.sync_api import sync_playwright

ORIGIN = "http://localhost:8000"
OUT = Path(__file__).with_name("chromium_passkey.json")
REGISTER_CHALLENGE = bytes(range(32))
LOGIN_CHALLENGE = bytes(range(32, 64))
USER_HANDLE = bytes(range(64, 96))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


CEREMONIES = """async ([register, login, handle]) => {
  const P = PublicKeyCredential;
  const created = await navigator.credentials.create({publicKey: P.parseCreationOptionsFromJSON({
    rp: {id: "localhost", name: "Bpart"},
    user: {id: handle, name: "ada@example.com", displayName: "Ada Lovelace"},
    challenge: register, pubKeyCredParams: [{type: "public-key", alg: -7}],
    attestation: "none", extensions: {credProps: true},
    authenticatorSelection: {residentKey: "preferred", userVerification: "preferred"}})});
  const asserted = await navigator.credentials.get({publicKey: P.parseRequestOptionsFromJSON({
    rpId: "localhost", challenge: login, allowCredentials: [], userVerification: "required"})});
  return [created.toJSON(), asserted.toJSON()];
}"""


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        page = browser.new_page()
        page.route(
            f"{ORIGIN}/**",
            lambda route: route.fulfill(
                body="<!doctype html><title>x</title>", content_type="text/html"
            ),
        )
        page.goto(f"{ORIGIN}/")
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )
        created, asserted = page.evaluate(
            CEREMONIES, [b64url(REGISTER_CHALLENGE), b64url(LOGIN_CHALLENGE), b64url(USER_HANDLE)]
        )
        browser.close()
    OUT.write_text(
        json.dumps(
            {
                "origin": ORIGIN,
                "register_challenge": b64url(REGISTER_CHALLENGE),
                "login_challenge": b64url(LOGIN_CHALLENGE),
                "user_handle": b64url(USER_HANDLE),
                "registration": created,
                "assertion": asserted,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
