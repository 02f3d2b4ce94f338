"""The confirmation page says what it is for and where Cancel goes; an account with keys
only is told plainly that confirming needs JavaScript; a key's form posted without the
script gets pages, never JSON; refusals on the page are reported like a login's."""

import html
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from tests.authenticator import Authenticator, give_key
from tests.helpers import PASSWORD, SITE, code_for, enable_2fa, log_in, verified_session
from tests.mfa.conftest import emails, events, wrong_code
from tests.mfa.webauthn.conftest import RP_ID
from twostep.audit.models import SecurityEvent
from twostep.login.confirm_purposes import purpose
from twostep.mfa.models import FREE_FAILURES

CONFIRM = reverse("login:confirm")
WINDOW = 600


def page(client, next_url: str, **query) -> str:
    response = client.get(CONFIRM, {"next": next_url, **query})
    return html.unescape(response.content.decode())


@pytest.fixture
def ada(client, ada_2fa, frozen):
    log_in(client, ada_2fa)
    frozen.shift(WINDOW + 1)
    return ada_2fa


@pytest.mark.parametrize(
    ("next_url", "sentence"),
    [
        ("/settings/2fa/disable/", "to turn off two-factor authentication"),
        ("/settings/password/", "to change your password"),
        ("/profile/email/", "to change your email address"),
        ("/settings/sessions/", "to end sessions or forget remembered browsers"),
        ("/settings/2fa/keys/add/", "to add a security key or passkey"),
        ("/settings/2fa/setup/", "to set up an authenticator app"),
        ("/settings/2fa/keys/3/remove/", "to remove a security key"),
        ("/settings/2fa/recovery-codes/new/", "to generate new recovery codes"),
        ("/support/cases/4/", "to decide about another person's account"),
        ("/vouch/5/", "to decide about another person's account"),
    ],
)
def test_the_page_says_what_the_confirmation_is_for(client, ada, next_url, sentence):
    shown = page(client, next_url)
    assert f"We ask for this {sentence}." in shown
    assert "You are about to change something that protects your account." not in shown


@pytest.mark.parametrize("next_url", ["", "/settings/", "/admin/", "/nowhere/"])
def test_an_unknown_purpose_gets_the_generic_sentence(client, ada, next_url):
    shown = page(client, next_url)
    assert "You are about to change something that protects your account." in shown
    assert 'data-testid="confirm-purpose"' not in shown


def test_turning_2fa_on_says_it_is_to_set_up_an_authenticator_app(client, user, frozen):
    log_in(client, user)  # 2FA off: the password alone
    frozen.shift(WINDOW + 1)

    asked = client.post(reverse("mfa:enable"))

    # Back to Settings afterwards (where "Turn on" is), but the page says what for.
    query = urlencode({"next": "/settings/", "for": "mfa:enable"})
    assert asked["Location"] == f"{CONFIRM}?{query}"
    shown = html.unescape(client.get(asked["Location"]).content.decode())
    assert "We ask for this to set up an authenticator app." in shown


def test_switching_method_keeps_what_the_confirmation_is_for(client, keys_only):
    enable_2fa(keys_only)
    verified_session(client, keys_only)

    response = client.get(CONFIRM, {"next": "/settings/", "for": "mfa:enable"})

    (other,) = response.context["others"]
    assert "for=mfa%3Aenable" in other[1]


@pytest.mark.parametrize(
    "name",
    [
        "accounts:end_other_sessions",
        "accounts:forget_all_remembered",
        "mfa:key_add_options",
        "mfa:enable",
    ],
)
def test_pages_that_send_the_person_elsewhere_are_not_in_the_table(name):
    # Their views come back to another page (confirm_return_to): its line, or the view's
    # own confirm_purpose, says what for.
    assert purpose(reverse(name)) is None


def test_a_page_missing_from_the_table_has_no_purpose():
    assert purpose("/settings/") is None


@pytest.mark.parametrize(
    ("next_url", "cancel"),
    [
        ("/settings/2fa/disable/", "/settings/2fa/disable/"),
        ("/support/cases/4/", "/support/cases/4/"),
        ("/settings/sessions/end-others/", "/settings/"),  # POST only
        ("/settings/2fa/keys/add/options/", "/settings/"),  # POST only
        ("https://evil.example/", "/settings/"),
        ("/nowhere/", "/settings/"),
        ("", "/settings/"),
    ],
)
def test_cancel_goes_back_to_the_page_when_it_can_be_shown(client, ada, next_url, cancel):
    response = client.get(CONFIRM, {"next": next_url})
    assert response.context["cancel"] == cancel
    assert f'<a href="{cancel}">Cancel</a>' in response.content.decode()


@pytest.fixture
def keys_only(client, user, frozen, settings):
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""
    give_key(user, Authenticator(origin=SITE, rp_id=RP_ID))
    return user


def test_an_account_with_keys_only_is_told_confirming_needs_javascript(client, keys_only):
    verified_session(client, keys_only)
    shown = page(client, "/settings/2fa/disable/")
    assert "Confirming needs JavaScript here" in shown
    assert "use another method below" not in shown


def test_an_account_with_another_method_is_pointed_to_it(client, keys_only):
    enable_2fa(keys_only)
    verified_session(client, keys_only)
    shown = page(client, "/settings/2fa/disable/", method="key")
    assert "use another method below" in shown
    assert "Confirming needs JavaScript here" not in shown


def test_a_key_form_posted_without_the_script_and_no_password_gets_the_page(client, keys_only):
    verified_session(client, keys_only)
    response = client.post("/confirm/key/", {"next": "/settings/2fa/disable/", "credential": "{}"})
    query = urlencode({"method": "key", "next": "/settings/2fa/disable/"})
    assert response.status_code == 302 and response["Location"] == f"{CONFIRM}?{query}"
    assert "Enter your password." in html.unescape(
        client.get(response["Location"]).content.decode()
    )


def test_a_wrong_password_with_a_key_posted_without_the_script_gets_the_page(client, keys_only):
    verified_session(client, keys_only)
    response = client.post("/confirm/key/", {"password": "not it", "credential": "{}"})
    assert response.status_code == 302 and response["Location"].startswith(f"{CONFIRM}?")
    shown = html.unescape(client.get(response["Location"]).content.decode())
    assert "That is not your password. Try again." in shown


def test_a_key_form_posted_logged_out_without_the_script_goes_to_the_login(client, db):
    response = client.post("/confirm/key/", {"password": "x", "credential": "{}"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login:login"))


def test_a_wrong_password_on_the_page_is_recorded_as_the_confirmations(client, ada):
    client.post(CONFIRM, {"password": "not it", "code": code_for()})
    [failed] = events(ada, SecurityEvent.Type.LOGIN_FAILED)
    assert failed.details["purpose"] == "confirm"


def test_a_wrong_password_at_login_has_no_purpose_detail(client, ada_2fa):
    client.post(reverse("login:login"), {"email": ada_2fa.email, "password": "not it"})
    [failed] = events(ada_2fa, SecurityEvent.Type.LOGIN_FAILED)
    assert "purpose" not in failed.details


def test_wrong_codes_after_the_right_password_email_the_owner(client, ada):
    for _ in range(FREE_FAILURES):
        client.post(CONFIRM, {"password": PASSWORD, "code": wrong_code()})
    assert len(emails(ada, "Someone may know your password")) == 1


def test_settings_activity_shows_the_confirmation_in_neutral_words(client, ada):
    client.post(CONFIRM, {"password": PASSWORD, "code": code_for()})
    page = client.get(reverse("accounts:settings")).content.decode()
    assert "<td>Identity confirmed</td>" in page
