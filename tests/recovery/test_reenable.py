"""After a support reset: each login recommends turning 2FA on again until it is on."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers import PASSWORD, code_for, confirmed_session
from twostep.accounts.models import User
from twostep.mfa import totp
from twostep.mfa.models import TOTPDevice
from twostep.recovery import resets

WELCOME_BACK = reverse("login:reenable")
PROFILE = reverse("accounts:profile")


@pytest.fixture
def reset_ada(ada, approved_case, frozen) -> User:
    """Ada after support reset her 2FA: password only, mfa_reset_at set."""
    frozen.shift(24 * 60 * 60 + 1)
    assert resets.perform_due_resets() == 1
    return User.objects.get(pk=ada.pk)


def password_login(client: Client, user: User):
    return client.post(reverse("login:login"), {"email": user.email, "password": PASSWORD})


def test_first_login_after_a_reset_recommends_re_enabling_2fa(client, reset_ada):
    response = password_login(client, reset_ada)

    assert response.status_code == 302
    assert response["Location"] == f"{WELCOME_BACK}?next=%2Fprofile%2F"
    assert client.session.get("_auth_user_id") == str(reset_ada.pk)  # logged in
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Your two-factor authentication was reset" in page.text
    assert "strongly recommend re-enabling 2FA" in page.text
    enable = reverse("mfa:enable")
    assert f'<form method="post" action="{enable}">' in page.text
    assert ">Enable Two-Factor Authentication</button>" in page.text
    assert f'<a href="{PROFILE}">Skip for now</a>' in page.text


def test_skipping_goes_on_and_the_next_login_shows_it_again(client, reset_ada):
    first = password_login(client, reset_ada)
    page = client.get(first["Location"])
    assert 'href="/profile/">Skip for now' in page.text
    assert client.get(PROFILE).status_code == 200  # "Skip for now" goes on
    client.post(reverse("login:logout"))

    again = password_login(client, reset_ada)

    assert again["Location"].startswith(WELCOME_BACK)


def test_the_page_keeps_a_safe_next_and_drops_an_outside_one(client, reset_ada):
    client.force_login(reset_ada)

    inside = client.get(WELCOME_BACK, {"next": "/settings/"})
    outside = client.get(WELCOME_BACK, {"next": "https://evil.example/"})

    assert 'href="/settings/">Skip for now' in inside.text
    assert "evil.example" not in outside.text


def test_after_re_enabling_2fa_the_recommendation_is_gone(client, reset_ada, frozen):
    confirmed_session(client, reset_ada)
    page = client.get(WELCOME_BACK)
    assert "Enable Two-Factor Authentication" in page.text

    setup = client.post(reverse("mfa:enable"), follow=True)
    assert setup.redirect_chain == [(reverse("mfa:setup"), 302)]
    key = setup.context["manual_key"].replace(" ", "")
    secret = totp.decode_secret(key)
    confirmed = client.post(reverse("mfa:setup"), {"code": code_for(secret)})
    assert confirmed.status_code == 302

    user = User.objects.get(pk=reset_ada.pk)
    assert user.mfa_reset_at is None
    assert TOTPDevice.objects.get(user=user).confirmed_at is not None
    assert client.get(WELCOME_BACK)["Location"] == PROFILE  # nothing to recommend
    client.post(reverse("login:logout"))
    frozen.shift(30)
    login = password_login(Client(), user)
    assert login["Location"] == reverse("login:code")  # the code is asked again


def test_welcome_back_needs_a_login(client, db):
    response = client.get(WELCOME_BACK)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login:login"))


def test_welcome_back_is_not_shown_to_someone_never_reset(client, make_user):
    client.force_login(make_user())

    assert client.get(WELCOME_BACK)["Location"] == PROFILE
