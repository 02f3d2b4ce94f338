"""The half-logged-in state between a correct password and a correct code."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.test import Client
from django.urls import reverse

from tests.helpers import code_for, submit_code, submit_password
from tests.mfa.conftest import reload
from twostep.login import pending
from twostep.mfa.factors import remove_factors

SessionStore = import_module(settings.SESSION_ENGINE).SessionStore


def session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def test_correct_password_leaves_only_the_pending_marker_under_a_new_session_key(
    client, device, user
):
    before = client.session.session_key  # a session that exists before the login
    response = submit_password(client)
    assert response.status_code == 302 and response.url == reverse("login:code")
    after = session_key(client)
    assert after != before
    assert not SessionStore().exists(before)
    data = SessionStore(after).load()
    assert set(data) == {pending.SESSION_KEY}
    assert data[pending.SESSION_KEY]["user_id"] == user.pk
    assert AUTH_USER_KEY not in data


def test_pending_session_is_anonymous_everywhere_else(pending_client):
    for name in ("accounts:profile", "accounts:settings", "mfa:setup"):
        response = pending_client.get(reverse(name))
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("login:login")), name


def test_code_page_is_served_just_before_five_minutes(pending_client, frozen):
    frozen.shift(settings.TWOSTEP_PENDING_LOGIN_SECONDS - 1)
    response = pending_client.get(reverse("login:code"))
    assert response.status_code == 200


def test_after_five_minutes_the_code_page_sends_back_to_login(pending_client, frozen, device):
    frozen.shift(settings.TWOSTEP_PENDING_LOGIN_SECONDS + 1)
    response = pending_client.get(reverse("login:code"))
    assert response.status_code == 302 and response.url == reverse("login:login")
    assert pending.SESSION_KEY not in pending_client.session

    # Even a correct code does not revive it.
    response = submit_code(pending_client, code_for())
    assert response.status_code == 302 and response.url == reverse("login:login")
    assert AUTH_USER_KEY not in pending_client.session
    assert reload(device).last_used_step == -1


def test_pending_state_does_not_carry_over_to_another_client(pending_client, device):
    stranger = Client()
    response = stranger.get(reverse("login:code"))
    assert response.status_code == 302 and response.url == reverse("login:login")
    response = submit_code(stranger, code_for())
    assert response.status_code == 302 and response.url == reverse("login:login")
    assert AUTH_USER_KEY not in stranger.session
    assert reload(device).last_used_step == -1
    # The client that typed the password still can.
    assert submit_code(pending_client, code_for()).status_code == 302


def test_correct_code_logs_in_under_yet_another_session_key(pending_client, user):
    before = session_key(pending_client)
    response = submit_code(pending_client, code_for())
    assert response.status_code == 302 and response.url == reverse("accounts:profile")
    after = session_key(pending_client)
    assert after != before
    assert not SessionStore().exists(before)
    data = SessionStore(after).load()
    assert data[AUTH_USER_KEY] == str(user.pk)
    assert pending.SESSION_KEY not in data
    assert pending_client.get(reverse("accounts:profile")).status_code == 200


def test_login_goes_on_to_the_page_asked_for_before_the_password(client, device):
    response = client.post(
        reverse("login:login") + "?next=" + reverse("accounts:settings"),
        {"email": "ada@example.com", "password": "correct horse battery staple"},
    )
    assert response.url == reverse("login:code")
    response = submit_code(client, code_for())
    assert response.status_code == 302 and response.url == reverse("accounts:settings")


def test_turning_2fa_off_meanwhile_sends_the_pending_login_back_to_the_password(
    pending_client, device
):
    remove_factors(device.user, reason="support reset")  # as disabling or a support reset does
    response = pending_client.get(reverse("login:code"))
    assert response.status_code == 302 and response.url == reverse("login:login")
    assert pending.SESSION_KEY not in pending_client.session
