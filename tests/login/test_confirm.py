"""'Confirm it's you': the window a login or the confirmation page opens (10 minutes, not
extended by activity), and the page itself: the password and an app code (never a recovery
code), each counted in the login's own throttle, back to a safe `next`."""

import html
from urllib.parse import urlencode

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import Client, RequestFactory
from django.urls import reverse

from tests.helpers import (
    PASSWORD,
    code_for,
    give_recovery_codes,
    log_in,
    mfa_state,
)
from tests.mfa.conftest import events, reload, wrong_code
from twostep.accounts.confirmation import confirmed_at
from twostep.accounts.models import EmailChange, LoginThrottle
from twostep.audit.models import SecurityEvent
from twostep.login import flow
from twostep.mfa.models import FREE_FAILURES, RecoveryCode, TOTPDevice

CONFIRM = reverse("login:confirm")
DISABLE = reverse("mfa:disable")
EMAIL = reverse("accounts:email_change")
WINDOW = 600


def asks_to_confirm(response, next_url: str) -> bool:
    return response.status_code == 302 and response["Location"] == (
        f"{CONFIRM}?{urlencode({'next': next_url})}"
    )


def confirm(client: Client, *, password: str = PASSWORD, code: str | None = None, **query):
    """Submit the confirmation page (the app's code when `code` is given)."""
    data = {"password": password, **({"code": code} if code is not None else {})}
    if "next" in query:
        data["next"] = query["next"]
    return client.post(f"{CONFIRM}?{urlencode(query)}", data)


@pytest.fixture
def ada(client, ada_2fa, frozen):
    """Ada logged in with her password and code at NOW: her window is open."""
    log_in(client, ada_2fa)
    return ada_2fa


# --- The window ------------------------------------------------------------------------


def test_a_login_with_2fa_less_than_10_minutes_ago_is_not_asked(client, ada, frozen):
    frozen.shift(WINDOW - 1)
    assert client.get(DISABLE).status_code == 200


def test_the_window_holds_10_minutes_and_activity_does_not_extend_it(client, ada, frozen):
    for _ in range(3):
        frozen.shift(WINDOW // 3 - 1)
        assert client.get(DISABLE).status_code == 200  # busy, not extended
        assert client.get(reverse("accounts:settings")).status_code == 200
    frozen.shift(4)  # 10 minutes and a second after the login
    assert asks_to_confirm(client.get(DISABLE), DISABLE)
    assert TOTPDevice.objects.filter(user=ada).exists()


def _session_request(user):
    request = RequestFactory().post("/login/code/", REMOTE_ADDR="203.0.113.9")
    SessionMiddleware(lambda r: None).process_request(request)
    request.user = user
    return request


@pytest.mark.parametrize(("remembered", "opens"), [(True, False), (False, True)])
def test_only_a_login_that_proved_the_factor_opens_the_window(ada_2fa, remembered, opens):
    request = _session_request(ada_2fa)
    flow.complete_login(request=request, user=ada_2fa, mfa_verified=True, remembered=remembered)
    assert (confirmed_at(request.session) is not None) == opens


# --- The page --------------------------------------------------------------------------


def test_the_page_says_what_it_is_for_and_asks_the_password_and_a_code(client, ada):
    page = html.unescape(client.get(CONFIRM, {"next": DISABLE}).content.decode())
    assert "We ask for this to turn off two-factor authentication." in page
    assert "10 minutes" in page
    assert "A recovery code cannot be used here." in page
    assert 'name="password"' in page and 'name="code"' in page
    assert f'name="next" value="{DISABLE}"' in page
    assert 'data-testid="method-recovery"' not in page


def test_confirming_opens_the_window_records_it_and_returns_to_next(client, ada, frozen):
    frozen.shift(WINDOW + 1)
    response = confirm(client, code=code_for(), next=DISABLE)
    assert response.status_code == 302 and response["Location"] == DISABLE
    [event] = events(ada, SecurityEvent.Type.CONFIRMED_IDENTITY)
    assert event.details["method"] == "app"
    assert PASSWORD not in str(event.details)
    # Ten minutes from the confirmation, whatever happens meanwhile.
    frozen.shift(WINDOW - 1)
    assert client.get(DISABLE).status_code == 200
    frozen.shift(2)
    assert asks_to_confirm(client.get(DISABLE), DISABLE)


def test_a_recovery_code_is_refused_at_the_confirmation(client, ada, frozen):
    codes = give_recovery_codes(ada)
    frozen.shift(WINDOW + 1)
    asked = client.get(CONFIRM, {"method": "recovery", "next": DISABLE})
    assert asked.context["method"] == "app"  # not a method offered here
    response = confirm(client, code=codes[0], method="recovery", next=DISABLE)
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert RecoveryCode.objects.filter(user=ada, used_at__isnull=True).count() == 10
    assert not events(ada, SecurityEvent.Type.CONFIRMED_IDENTITY)
    assert asks_to_confirm(client.get(DISABLE), DISABLE)


def test_a_wrong_password_is_counted_like_a_login_and_the_code_is_not_judged(
    client, ada, device, frozen
):
    frozen.shift(WINDOW + 1)
    response = confirm(client, password="not it", code=code_for(), next=DISABLE)
    assert response.status_code == 200
    assert response.context["form"].errors["password"] == ["That is not your password. Try again."]
    assert len(events(ada, SecurityEvent.Type.LOGIN_FAILED)) == 1
    assert reload(device).last_used_step == 59_000_000  # still the login's code
    assert not events(ada, SecurityEvent.Type.CONFIRMED_IDENTITY)
    assert asks_to_confirm(client.get(DISABLE), DISABLE)


def test_wrong_passwords_are_throttled_like_the_login(client, ada, frozen):
    frozen.shift(WINDOW + 1)
    for _ in range(5):
        confirm(client, password="not it", code=code_for())
    assert LoginThrottle.objects.filter(failure_count=5).exists()
    refused = confirm(client, code=code_for())  # right, but held back
    assert "Too many failed attempts. Try again in" in refused.context["form"].errors["password"][0]
    assert not events(ada, SecurityEvent.Type.CONFIRMED_IDENTITY)


def test_a_wrong_code_is_counted_in_the_second_steps_throttle(client, ada, frozen):
    frozen.shift(WINDOW + 1)
    response = confirm(client, code=wrong_code(), next=DISABLE)
    assert response.context["form"].errors["code"]
    assert mfa_state(ada).failure_count == 1
    [failed] = events(ada, SecurityEvent.Type.CODE_FAILED)
    assert failed.details["purpose"] == "confirm" and failed.details["method"] == "app"
    for _ in range(FREE_FAILURES):
        confirm(client, code=wrong_code())
    refused = confirm(client, code=code_for())
    assert "Too many wrong codes" in refused.context["form"].errors["code"][0]
    assert not events(ada, SecurityEvent.Type.CONFIRMED_IDENTITY)
    assert asks_to_confirm(client.get(DISABLE), DISABLE)


def test_a_code_already_used_is_refused(client, ada, frozen):
    frozen.shift(WINDOW + 1)
    assert confirm(client, code=code_for()).status_code == 302
    again = confirm(client, code=code_for())
    assert again.context["form"].errors["code"] == [
        "That code has already been used. Wait for the next code in your app."
    ]


@pytest.mark.parametrize(
    "unsafe", ["https://evil.example/", "//evil.example/settings/", "javascript:alert(1)"]
)
def test_an_unsafe_next_is_ignored(client, ada, frozen, unsafe):
    frozen.shift(WINDOW + 1)
    response = confirm(client, code=code_for(), next=unsafe)
    assert response.status_code == 302 and response["Location"] == reverse("accounts:settings")
    shown = client.get(CONFIRM, {"next": unsafe})
    assert shown.context["next"] == ""  # the fallback: no `next` at all
    assert 'name="next"' not in shown.content.decode()
    assert shown.context["cancel"] == reverse("accounts:settings")


def test_two_tabs_confirming_at_once_both_go_ahead(client, ada, frozen):
    frozen.shift(WINDOW + 1)
    first = client.get(CONFIRM, {"next": DISABLE})
    second = client.get(CONFIRM, {"next": EMAIL})
    assert first.status_code == second.status_code == 200
    assert confirm(client, code=code_for(), next=DISABLE)["Location"] == DISABLE
    frozen.shift(30)  # the second tab's code is the app's next one
    assert confirm(client, code=code_for(), next=EMAIL)["Location"] == EMAIL
    assert len(events(ada, SecurityEvent.Type.CONFIRMED_IDENTITY)) == 2
    assert client.get(DISABLE).status_code == client.get(EMAIL).status_code == 200


def test_without_2fa_the_password_alone_confirms(client, make_user, frozen):
    grace = make_user("grace@example.com", "Grace Hopper")
    log_in(client, grace)
    frozen.shift(WINDOW + 1)
    page = client.get(CONFIRM, {"next": EMAIL}).content.decode()
    assert 'name="password"' in page and 'name="code"' not in page
    response = confirm(client, next=EMAIL)
    assert response["Location"] == EMAIL
    [event] = events(grace, SecurityEvent.Type.CONFIRMED_IDENTITY)
    assert event.details["method"] == "password"


def test_the_page_needs_a_login(client, pending_client):
    response = pending_client.get(CONFIRM)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login:login"))


# --- A form posted after the window closed ----------------------------------------------


def test_an_email_change_posted_after_the_window_comes_back_filled(client, ada, frozen):
    frozen.shift(WINDOW + 1)
    posted = client.post(EMAIL, {"new_email": "ada.new@example.com"})
    assert asks_to_confirm(posted, EMAIL)
    assert not EmailChange.objects.exists()
    told = client.get(posted["Location"])
    assert "Confirm it's you first. Then check the form and submit it again." in (
        html.unescape(told.content.decode())
    )

    back = confirm(client, code=code_for(), next=EMAIL)
    assert back["Location"] == EMAIL
    form = client.get(EMAIL)
    assert form.context["form"].initial["new_email"] == "ada.new@example.com"
    assert 'value="ada.new@example.com"' in form.content.decode()
    assert client.get(EMAIL).context["form"].initial.get("new_email") is None  # once
    client.post(EMAIL, {"new_email": "ada.new@example.com"})
    assert EmailChange.objects.filter(user=ada).exists()
