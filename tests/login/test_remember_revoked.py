"""Remembered browsers are forgotten, with an audit event in the same transaction, by a
password change or reset, disabling 2FA, any change to the second factors, new recovery
codes and "This wasn't me"; after a 2FA change Settings offers "Log out everywhere else"."""

import time

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.test import Client, RequestFactory
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.authenticator import Authenticator, give_key
from tests.helpers import (
    CODE,
    PASSWORD,
    code_for,
    give_recovery_codes,
    log_in,
    remembered_browser,
    submit_password,
)
from twostep.accounts import new_browser, remembered, session_offer
from twostep.accounts.models import RememberedBrowser, User
from twostep.audit.models import SecurityEvent
from twostep.mfa.webauthn import keys

NEW = "a brand new passphrase 42"
RP_ID = "twostep.example"
FORGOTTEN = SecurityEvent.Type.REMEMBERED_BROWSERS_FORGOTTEN


@pytest.fixture
def ada(ada_2fa: User, frozen) -> User:
    return ada_2fa


def remembered_laptop(user: User, frozen) -> Client:
    """A remembered browser of `user`, logged out; the clock moved on a step."""
    client = remembered_browser(user)
    frozen.shift(60)
    return client


@pytest.fixture
def laptop(ada: User, frozen) -> Client:
    return remembered_laptop(ada, frozen)


def settings_browser(user: User, frozen) -> Client:
    """Another browser of Ada's, logged in with her code (a fresh time step)."""
    client = Client(REMOTE_ADDR="198.51.100.20")
    log_in(client, user)
    frozen.shift(60)
    return client


def with_key(user: User):
    return give_key(user, Authenticator(origin="https://twostep.example", rp_id=RP_ID))


def asked_for_code(client: Client, user: User, password: str = PASSWORD) -> bool:
    response = submit_password(client, user.email, password)
    assert response.status_code == 302, "wrong password"
    return response["Location"] == CODE


def forgotten_because(user: User) -> str:
    assert not RememberedBrowser.objects.filter(user=user).exists()
    event = SecurityEvent.objects.filter(type=FORGOTTEN, subject=user).get()
    assert event.details["count"] == 1
    return event.details["reason"]


def test_a_password_change_forgets_every_remembered_browser(ada, laptop, frozen):
    here = settings_browser(ada, frozen)

    here.post(
        "/settings/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert forgotten_because(ada) == "password changed"
    assert asked_for_code(laptop, ada, NEW)


def test_a_password_reset_forgets_every_remembered_browser(ada, laptop):
    ada.refresh_from_db()  # the token depends on the last login
    uid = urlsafe_base64_encode(force_bytes(ada.pk))
    link = f"/password-reset/{uid}/{default_token_generator.make_token(ada)}/"
    stranger = Client()
    form_page = stranger.get(link)
    stranger.post(form_page["Location"], {"new_password1": NEW, "new_password2": NEW})

    assert forgotten_because(ada) == "password reset"
    assert asked_for_code(laptop, ada, NEW)


def test_disabling_2fa_forgets_every_remembered_browser(ada, laptop, frozen):
    here = settings_browser(ada, frozen)

    here.post("/settings/2fa/disable/", {"code": code_for(), "confirm": "on"})

    assert forgotten_because(ada) == "two-factor authentication turned off"


def test_adding_a_key_forgets_every_remembered_browser(ada, laptop):
    with_key(ada)

    assert forgotten_because(ada) == "a method added"
    assert asked_for_code(laptop, ada)


def test_removing_a_key_forgets_every_remembered_browser(ada, frozen):
    key = with_key(ada)
    laptop = remembered_laptop(ada, frozen)
    here = settings_browser(ada, frozen)

    assert here.post(f"/settings/2fa/keys/{key.pk}/remove/")["Location"] == "/settings/"

    assert forgotten_because(ada) == "a method removed"
    assert asked_for_code(laptop, ada)


def test_the_first_recovery_codes_forget_every_remembered_browser(ada, laptop):
    give_recovery_codes(ada)

    assert forgotten_because(ada) == "recovery codes generated"
    assert asked_for_code(laptop, ada)


def test_regenerated_recovery_codes_forget_every_remembered_browser(ada, frozen):
    give_recovery_codes(ada)
    laptop = remembered_laptop(ada, frozen)

    give_recovery_codes(ada)  # a new set replacing the first

    event = SecurityEvent.objects.filter(type=FORGOTTEN, subject=ada).get()
    assert event.details == {"count": 1, "reason": "recovery codes regenerated"}
    assert asked_for_code(laptop, ada)


def test_this_wasnt_me_forgets_every_remembered_browser(ada, laptop):
    token = signing.dumps({"u": ada.pk, "t": time.time()}, salt=new_browser.SALT)

    response = Client().post(f"/not-me/{token}/")

    assert response["Location"] == "/password-reset/"
    assert forgotten_because(ada) == "signed out everywhere"
    assert asked_for_code(laptop, ada)


def test_renaming_a_key_forgets_nothing(ada, frozen, rf: RequestFactory):
    key = with_key(ada)
    laptop = remembered_laptop(ada, frozen)
    request = rf.post("/")
    request.user = ada

    keys.rename_key(request=request, user=ada, key=key, name="Blue key")

    assert not asked_for_code(laptop, ada)


@pytest.mark.django_db(transaction=True)  # commits as in production: on_commit runs
def test_removing_the_last_method_is_refused_and_forgets_nothing(user, frozen, rf):
    key = with_key(user)
    request = rf.post("/", HTTP_USER_AGENT="Firefox/128.0")
    request.user = user
    request.session = Client().session
    remembered.remember(request=request, user=user, response=Client().get("/healthz"))

    with pytest.raises(keys.LastMethod):
        keys.remove_key(request=request, user=user, key=key)

    assert RememberedBrowser.objects.filter(user=user).count() == 1
    assert not SecurityEvent.objects.filter(type=FORGOTTEN).exists()
    assert session_offer.OFFER not in request.session  # the offer rolled back with it


def test_forgetting_nothing_records_nothing(ada):
    assert remembered.forget_all(user=ada, request=None, reason="second factors changed") == 0
    assert not SecurityEvent.objects.filter(type=FORGOTTEN).exists()


# "Log out everywhere else" after a 2FA change.

OFFER = 'data-testid="end-others-offer"'
# The offer is marked once the change commits: these tests commit, as production does.
committing = pytest.mark.django_db(transaction=True)


@committing
def test_after_removing_a_key_settings_offers_to_log_out_everywhere_else(ada, frozen):
    key = with_key(ada)
    elsewhere = settings_browser(ada, frozen)
    here = settings_browser(ada, frozen)

    here.post(f"/settings/2fa/keys/{key.pk}/remove/")
    page = here.get("/settings/").content.decode()

    assert OFFER in page and 'action="/settings/sessions/end-others/"' in page
    assert OFFER not in here.get("/settings/").content.decode()  # offered once
    here.post("/settings/sessions/end-others/")
    assert elsewhere.get("/settings/")["Location"].startswith("/login/")


@committing
def test_after_disabling_2fa_the_offer_shows_when_other_sessions_exist(ada, frozen):
    settings_browser(ada, frozen)
    here = settings_browser(ada, frozen)

    here.post("/settings/2fa/disable/", {"code": code_for(), "confirm": "on"})

    assert OFFER in here.get("/settings/").content.decode()


@committing
def test_without_other_sessions_there_is_no_offer(ada, frozen):
    key = with_key(ada)
    here = settings_browser(ada, frozen)

    here.post(f"/settings/2fa/keys/{key.pk}/remove/")

    assert OFFER not in here.get("/settings/").content.decode()


@committing
def test_a_password_change_needs_no_offer_it_ends_the_other_sessions(ada, frozen):
    elsewhere = settings_browser(ada, frozen)
    here = settings_browser(ada, frozen)

    here.post(
        "/settings/password/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert OFFER not in here.get("/settings/").content.decode()
    assert elsewhere.get("/settings/")["Location"].startswith("/login/")
