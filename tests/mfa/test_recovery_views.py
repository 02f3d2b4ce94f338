"""The recovery codes pages: shown once after 2FA is turned on or on request, downloaded,
"I have saved them", and what Settings says about them."""

import re
from urllib.parse import unquote

import pytest
from django.urls import reverse

from tests.helpers import (
    code_for,
    confirmed_session,
    give_recovery_codes,
    verified_session,
)
from tests.mfa.conftest import emails
from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.mfa import factors, recovery_codes
from twostep.mfa.models import RecoveryCode

PAGE = reverse("mfa:recovery_codes")
NEW = reverse("mfa:recovery_codes_new")
SAVED = reverse("mfa:recovery_codes_saved")
CODE = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>")
DOWNLOAD = re.compile(r'href="data:text/plain;charset=utf-8,([^"]+)" download="([^"]+)"')


@pytest.fixture
def owner(client, user, device):
    return verified_session(client, user)


def shown(response) -> list[str]:
    return CODE.findall(response.content.decode())


def test_after_turning_2fa_on_the_codes_page_issues_and_shows_the_first_set_once(
    client, user, frozen
):
    confirmed_session(client, user)
    client.post(reverse("mfa:enable"))
    secret = factors.pending_device(user).secret()
    confirmed = client.post(reverse("mfa:setup"), {"code": code_for(secret)})
    assert confirmed["Location"] == PAGE
    first = client.get(PAGE)
    codes = shown(first)
    assert len(codes) == 10
    assert "no-store" in first["Cache-Control"]
    used = recovery_codes.verify_recovery_code(
        user=user, code=codes[0], request=None, purpose="login"
    )
    assert used.accepted
    again = client.get(PAGE)
    assert shown(again) == []
    assert "9 of 10 recovery codes left." in again.content.decode()
    assert len(SecurityEvent.objects.filter(type=SecurityEvent.Type.RECOVERY_CODES_GENERATED)) == 1


def new_set(client):
    """'Generate new codes', within the confirmation the login opened."""
    return client.post(NEW, {})


def test_the_download_is_a_text_file_of_the_codes_shown(owner, user):
    response = new_set(owner)
    codes = shown(response)
    href, name = DOWNLOAD.search(response.content.decode()).groups()
    text = unquote(href)
    assert name == "bpart-recovery-codes.txt"
    assert user.email in text
    assert [line for line in text.splitlines() if CODE.fullmatch(f"<code>{line}</code>")] == codes


def test_the_codes_page_has_no_inline_script_or_style(owner):
    body = new_set(owner).content.decode()
    assert "<style" not in body and " style=" not in body
    assert re.findall(r"<script[^>]*>", body) == ['<script src="/static/twostep/print.js" defer>']


def test_generating_new_codes_replaces_the_set_and_emails_the_owner(owner, user):
    old = give_recovery_codes(user)
    new = shown(new_set(owner))
    assert len(new) == 10 and not set(old) & set(new)
    assert not recovery_codes.verify_recovery_code(
        user=user, code=old[0], request=None, purpose="login"
    ).accepted
    assert len(emails(user, "New recovery codes for your account")) == 1
    assert RecoveryCode.objects.filter(user=user).count() == 10


def test_ticking_saved_ends_the_page_and_settings_stops_reminding(owner):
    new_set(owner)
    settings_page = owner.get(reverse("accounts:settings")).content.decode()
    assert 'data-testid="codes-unsaved"' in settings_page
    response = owner.post(SAVED, {"saved": "on"})
    assert response["Location"] == reverse("accounts:settings")
    assert 'data-testid="codes-unsaved"' not in owner.get(response["Location"]).content.decode()


def test_continuing_without_the_tick_explains_the_codes_cannot_be_shown_again(owner):
    new_set(owner)
    response = owner.post(SAVED, {})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Tick the box once you have saved your recovery codes." in text
    assert "cannot be shown again" in text
    assert CODE.findall(text) == []


def test_settings_lists_the_methods_and_warns_at_three_codes_or_fewer(owner, user):
    page = owner.get(reverse("accounts:settings")).content.decode()
    assert 'data-testid="method-app"' in page
    assert "You have no recovery codes" in page
    codes = give_recovery_codes(user)
    page = owner.get(reverse("accounts:settings")).content.decode()
    assert "10 left" in page and 'data-testid="codes-warning"' not in page
    for code in codes[:7]:
        recovery_codes.verify_recovery_code(user=user, code=code, request=None, purpose="login")
    page = owner.get(reverse("accounts:settings")).content.decode()
    assert "3 left" in page and "You are running out of recovery codes" in page


def test_without_2fa_the_codes_pages_send_back_to_settings(client, user):
    client.force_login(user)
    assert client.get(PAGE)["Location"] == reverse("accounts:settings")
    assert client.post(NEW)["Location"] == reverse("accounts:settings")
    assert not RecoveryCode.objects.exists()


def test_the_disable_page_takes_a_recovery_code_and_removes_everything(owner, user):
    codes = give_recovery_codes(user)
    response = owner.post(reverse("mfa:disable"), {"code": codes[5], "confirm": "on"})
    assert response["Location"] == reverse("accounts:settings")
    fresh = User.objects.get_by_natural_key(user.email)
    assert not factors.second_factor_on(fresh)
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert factors.active_device(fresh) is None
