"""Turning 2FA on (a pending secret confirmed by a first code) and off again."""

import html

import pytest
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from tests.helpers import code_for, confirmed_session, enable_2fa, submit_code, submit_password
from tests.mfa.conftest import emails, events, reload, wrong_code
from twostep.audit.models import SecurityEvent
from twostep.mfa import enrolment, factors, totp
from twostep.mfa.models import MfaState, TOTPDevice

ENABLED_SUBJECT = "Two-factor authentication is now on"
DISABLED_SUBJECT = "Two-factor authentication was turned off"


@pytest.fixture
def logged_in(client, user, frozen):
    """Ada, logged in and within the confirmation her login opened."""
    return confirmed_session(client, user)


# --- Starting ---------------------------------------------------------------------------


def test_started_enrolment_is_pending_and_does_not_protect_the_account(client, user):
    device = enrolment.start_enrolment(user=user, request=None)
    assert not device.is_active
    assert factors.active_device(user) is None
    assert factors.pending_device(user) == device
    assert len(events(user, SecurityEvent.Type.MFA_ENROLMENT_STARTED)) == 1

    response = submit_password(client)
    assert response.status_code == 302
    assert response.url == reverse("accounts:profile")
    assert client.session[AUTH_USER_KEY] == str(user.pk)


def test_starting_again_replaces_the_pending_secret_with_a_fresh_one(user):
    first = enrolment.start_enrolment(user=user, request=None)
    first_secret = first.secret()
    second = enrolment.start_enrolment(user=user, request=None)
    assert second.secret() != first_secret
    assert list(TOTPDevice.objects.filter(user=user)) == [second]


def test_starting_enrolment_while_2fa_is_on_raises_and_keeps_the_device(user):
    device = enable_2fa(user)
    with pytest.raises(enrolment.AlreadyEnabled):
        enrolment.start_enrolment(user=user, request=None)
    assert reload(device).encrypted_secret == device.encrypted_secret
    assert reload(device).is_active


# --- The set-up page -------------------------------------------------------------------


def test_setup_page_shows_qr_code_manual_key_otpauth_link_and_code_label(logged_in, user):
    response = logged_in.post(reverse("mfa:enable"))
    assert response.status_code == 302 and response.url == reverse("mfa:setup")
    response = logged_in.get(reverse("mfa:setup"))
    assert response.status_code == 200
    page = response.content.decode()
    secret = factors.pending_device(user).secret()
    encoded = totp.encode_secret(secret)

    figure = page.split('data-testid="qr-code">', 1)[1].split("</figure>", 1)[0]
    assert figure.lstrip().startswith("<svg") and "</svg>" in figure
    assert "<style" not in figure and "style=" not in figure  # CSP: no inline style
    assert f'data-testid="manual-key">{totp.grouped(encoded)}</code>' in page
    [uri] = [
        html.unescape(part.split('"', 1)[0])
        for part in page.split('href="')[1:]
        if part.startswith("otpauth://")
    ]
    assert uri == factors.pending_device(user).provisioning_uri()
    assert uri.startswith("otpauth://totp/Bpart:ada@example.com?")
    assert f"secret={encoded}&" in uri
    assert '<label for="id_code">6-digit code</label>' in page


def test_setup_page_without_a_pending_device_goes_back_to_settings(logged_in):
    response = logged_in.get(reverse("mfa:setup"))
    assert response.status_code == 302 and response.url == reverse("accounts:settings")


def test_setup_page_needs_a_login(client):
    response = client.get(reverse("mfa:setup"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login:login"))


def test_starting_enrolment_while_2fa_is_on_redirects_with_a_message(logged_in, user):
    device = enable_2fa(user)
    response = logged_in.post(reverse("mfa:enable"))
    assert response.status_code == 302 and response.url == reverse("accounts:settings")
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Two-factor authentication is already on."
    ]
    fresh = reload(device)
    assert fresh.is_active and fresh.encrypted_secret == device.encrypted_secret
    assert not events(user, SecurityEvent.Type.MFA_ENROLMENT_STARTED)


# --- Confirming ------------------------------------------------------------------------


def test_confirming_with_a_correct_code_activates_records_and_emails(user, frozen):
    device = enrolment.start_enrolment(user=user, request=None)
    check = enrolment.confirm_enrolment(device=device, code=code_for(device.secret()), request=None)
    assert check.accepted
    assert factors.active_device(user) == device
    assert len(events(user, SecurityEvent.Type.MFA_ENABLED)) == 1
    assert len(emails(user, ENABLED_SUBJECT)) == 1


def test_confirming_with_a_wrong_code_keeps_it_pending(user, frozen):
    device = enrolment.start_enrolment(user=user, request=None)
    check = enrolment.confirm_enrolment(
        device=device, code=wrong_code(device.secret()), request=None
    )
    assert (check.accepted, check.reason) == (False, "wrong")
    assert factors.active_device(user) is None
    assert not events(user, SecurityEvent.Type.MFA_ENABLED)
    assert not emails(user, ENABLED_SUBJECT)


def test_code_that_confirmed_enrolment_cannot_then_be_used_to_log_in(client, user, frozen):
    device = enrolment.start_enrolment(user=user, request=None)
    code = code_for(device.secret())
    assert enrolment.confirm_enrolment(device=device, code=code, request=None).accepted

    submit_password(client)
    response = submit_code(client, code)
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [
        "That code has already been used. Wait for the next code in your app."
    ]
    assert AUTH_USER_KEY not in client.session
    assert len(events(user, SecurityEvent.Type.CODE_REUSE)) == 1


def test_confirming_through_the_setup_page_turns_2fa_on(logged_in, user, frozen):
    logged_in.post(reverse("mfa:enable"))
    secret = factors.pending_device(user).secret()
    response = logged_in.post(reverse("mfa:setup"), {"code": code_for(secret)})
    # 2FA was just turned on: its recovery codes come next.
    assert response.status_code == 302 and response.url == reverse("mfa:recovery_codes")
    assert factors.active_device(user) is not None
    assert "Two-factor authentication is now active." in [
        str(m) for m in get_messages(response.wsgi_request)
    ]


def test_malformed_code_on_the_setup_page_gets_a_form_error(logged_in, user, frozen):
    logged_in.post(reverse("mfa:enable"))
    response = logged_in.post(reverse("mfa:setup"), {"code": "12a456"})
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [
        "Enter the 6-digit code from your app (numbers only)."
    ]
    assert not MfaState.objects.filter(user=user, failure_count__gt=0).exists()


# --- Disabling -------------------------------------------------------------------------


def test_disable_needs_the_confirmation_box(logged_in, user):
    device = enable_2fa(user)
    response = logged_in.post(reverse("mfa:disable"), {})
    assert response.status_code == 200
    assert response.context["form"].errors["confirm"] == ["Tick the box to confirm."]
    assert reload(device).is_active


def test_disable_without_a_recent_confirmation_asks_for_one_and_changes_nothing(
    logged_in, user, frozen
):
    device = enable_2fa(user)
    frozen.shift(601)
    for response in (
        logged_in.get(reverse("mfa:disable")),
        logged_in.post(reverse("mfa:disable"), {"confirm": "on"}),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("login:confirm"))
    assert reload(device).is_active
    assert not events(user, SecurityEvent.Type.MFA_DISABLED)


def test_within_the_confirmation_disabling_needs_no_code_and_keeps_the_warning(logged_in, user):
    enable_2fa(user)
    page = logged_in.get(reverse("mfa:disable")).content.decode()
    assert "anyone who learns your password can log in to your account" in page
    assert 'name="code"' not in page
    response = logged_in.post(reverse("mfa:disable"), {"confirm": "on"})
    assert response.status_code == 302 and response.url == reverse("accounts:settings")
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert len(events(user, SecurityEvent.Type.MFA_DISABLED)) == 1
    assert len(emails(user, DISABLED_SUBJECT)) == 1


def test_turning_off_when_2fa_is_already_off_records_nothing(user):
    enrolment.turn_off(user=user, request=None)
    assert not events(user, SecurityEvent.Type.MFA_DISABLED)
    assert not emails(user, DISABLED_SUBJECT)


def test_only_the_session_that_started_enrolment_sees_the_new_secret(make_user):
    owner = make_user("owner@example.com")
    mine = confirmed_session(Client(), owner)
    other = confirmed_session(Client(), owner)  # e.g. someone else who knows the password
    mine.post("/settings/2fa/enable/")
    key = totp.grouped(totp.encode_secret(TOTPDevice.objects.get(user=owner).secret()))

    assert key in mine.get("/settings/2fa/setup/").content.decode()
    refused = other.get("/settings/2fa/setup/")
    assert refused.status_code == 302 and key not in refused.content.decode()


def test_turning_2fa_on_ends_the_accounts_other_sessions(make_user, frozen):
    owner = make_user("owner@example.com")
    mine, other = confirmed_session(Client(), owner), confirmed_session(Client(), owner)
    mine.post("/settings/2fa/enable/")
    secret = TOTPDevice.objects.get(user=owner).secret()

    mine.post("/settings/2fa/setup/", {"code": code_for(secret)})

    assert TOTPDevice.objects.get(user=owner).is_active
    assert mine.get("/settings/").status_code == 200
    assert other.get("/settings/").status_code == 302  # logged out
