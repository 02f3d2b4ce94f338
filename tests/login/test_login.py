"""The password step: one message for every refusal, hashing either way, throttling."""

import re

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client

from tests.helpers import (
    CHEAP_HASHER,
    CODE,
    LOGIN,
    PASSWORD,
    code_for,
    enable_2fa,
    error_text,
    log_in,
    submit_password,
)
from twostep.accounts.models import LoginThrottle
from twostep.audit.models import SecurityEvent

INVALID = "Invalid email or password."
CSRF_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture
def argon2_calls(monkeypatch) -> list[str]:
    """Records every Argon2 hash computed, and computes it (a spy, not a stand-in)."""
    calls: list[str] = []
    encode, verify = Argon2PasswordHasher.encode, Argon2PasswordHasher.verify

    def spy_encode(self, password, salt):
        calls.append("encode")
        return encode(self, password, salt)

    def spy_verify(self, password, encoded):
        calls.append("verify")
        return verify(self, password, encoded)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", spy_encode)
    monkeypatch.setattr(Argon2PasswordHasher, "verify", spy_verify)
    return calls


@pytest.fixture
def cheap_argon2(settings):
    """For tests about counting failures, not about hashing: twenty logins stay fast."""
    settings.PASSWORD_HASHERS = [CHEAP_HASHER]


def page_without(response, typed_email: str) -> bytes:
    """The page with what differs per request (CSRF token, the email typed) blanked."""
    return CSRF_TOKEN.sub(b"", response.content).replace(typed_email.encode(), b"EMAIL")


def test_wrong_email_and_wrong_password_get_the_same_message_and_page(user):
    unknown = submit_password(Client(), "nobody@example.com", PASSWORD)
    wrong = submit_password(Client(), user.email, "not the password")

    assert unknown.status_code == wrong.status_code == 200
    assert error_text(unknown) == error_text(wrong) == INVALID
    assert page_without(unknown, "nobody@example.com") == page_without(wrong, user.email)


def test_the_password_hasher_runs_for_an_unknown_email_as_for_a_wrong_password(user, argon2_calls):
    submit_password(Client(), "warm-up@example.com", PASSWORD)  # makes the dummy hash once
    argon2_calls.clear()

    submit_password(Client(), "nobody@example.com", PASSWORD)
    assert argon2_calls == ["verify"]  # against the dummy hash, with the same parameters

    argon2_calls.clear()
    submit_password(Client(), user.email, "not the password")
    assert argon2_calls == ["verify"]


def test_email_is_case_insensitive(client, user):
    response = submit_password(client, "  ADA@Example.COM ", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_an_inactive_user_cannot_log_in_with_the_right_password(client, make_user):
    make_user(is_active=False)

    response = submit_password(client, "ada@example.com", PASSWORD)

    assert response.status_code == 200
    assert error_text(response) == INVALID
    assert "_auth_user_id" not in client.session


def test_the_session_key_rotates_when_the_login_completes(client, user):
    client.get(LOGIN)
    session = client.session
    session["before_login"] = True
    session.save()
    before = session.session_key

    log_in(client, user)

    assert client.session.session_key != before
    assert not type(client.session)().exists(before)


def test_the_session_key_rotates_at_the_password_step_and_again_after_the_code(client, user):
    enable_2fa(user)
    session = client.session
    session.save()
    keys = [session.session_key]

    submit_password(client, user.email)
    keys.append(client.session.session_key)
    log_in(client, user)  # password again, then the code
    keys.append(client.session.session_key)

    assert len(set(keys)) == 3
    assert client.session["_auth_user_id"] == str(user.pk)


def test_next_is_honoured_for_a_path_on_this_site(client, user):
    response = submit_password(client, user.email, next="/settings/?tab=security")

    assert response["Location"] == "/settings/?tab=security"


def test_next_survives_the_code_step(client, user, frozen):
    enable_2fa(user)
    assert submit_password(client, user.email, next="/settings/")["Location"] == CODE

    assert client.post(CODE, {"code": code_for()})["Location"] == "/settings/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "http://testserver.evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "ftp://testserver/profile/",
    ],
)
def test_next_to_another_site_is_refused(client, user, target):
    response = submit_password(client, user.email, next=target)

    assert response["Location"] == "/profile/"


def test_next_is_not_echoed_into_the_login_form_when_it_points_elsewhere(client):
    page = client.get(LOGIN, {"next": "https://evil.example/"}).content

    assert b"evil.example" not in page


# The throttle tests below count failures; what the hash costs is proven above.
throttle_test = pytest.mark.usefixtures("cheap_argon2")


def fail_on(client: Client, email: str, times: int, **extra) -> None:
    for _ in range(times):
        response = submit_password(client, email, "not the password", **extra)
        assert error_text(response) == INVALID


@throttle_test
def test_the_sixth_try_on_one_account_is_refused_even_with_the_right_password(client, user, frozen):
    fail_on(client, user.email, 5)

    refused = submit_password(client, user.email, PASSWORD)

    assert refused.status_code == 200
    assert re.fullmatch(r"Too many failed attempts\. Try again in 1 second\.", error_text(refused))
    assert "_auth_user_id" not in client.session


@throttle_test
def test_the_account_back_off_passes_and_the_right_password_works_again(client, user, frozen):
    fail_on(client, user.email, 5)
    frozen.shift(1)

    response = submit_password(client, user.email, PASSWORD)

    assert response.status_code == 302
    # Cleared by removing the row: a known account that logged in looks like an address
    # never tried (no row), so the next failure costs the same statements either way.
    assert not LoginThrottle.objects.filter(key="account:ada@example.com").exists()


@throttle_test
def test_the_account_back_off_doubles_with_each_further_failure(client, user, frozen):
    fail_on(client, user.email, 5)
    for wait in (1, 2, 4, 8):
        frozen.shift(wait)
        fail_on(client, user.email, 1)
    refused = submit_password(client, user.email, PASSWORD)

    assert "Try again in 16 seconds." in error_text(refused)


@throttle_test
def test_the_throttle_message_is_the_same_for_an_unknown_account(client, user, frozen):
    fail_on(client, user.email, 5)
    fail_on(client, "nobody@example.com", 5)

    known = submit_password(client, user.email, PASSWORD)
    unknown = submit_password(client, "nobody@example.com", PASSWORD)

    assert "Try again in" in error_text(known)
    assert error_text(known) == error_text(unknown)


@throttle_test
def test_the_account_throttle_ignores_the_case_of_the_email(client, user, frozen):
    fail_on(client, "ADA@example.com", 3)
    fail_on(client, "ada@EXAMPLE.com", 2)

    assert "Try again in" in error_text(submit_password(client, user.email, PASSWORD))


@throttle_test
def test_an_ip_is_refused_after_twenty_failures_across_different_emails(client, make_user, frozen):
    grace = make_user("grace@example.com", "Grace Hopper")
    attacker = {"REMOTE_ADDR": "203.0.113.9"}
    for n in range(20):
        fail_on(client, f"guess{n}@example.com", 1, **attacker)

    refused = submit_password(Client(), grace.email, PASSWORD, **attacker)
    elsewhere = submit_password(Client(), grace.email, PASSWORD, REMOTE_ADDR="198.51.100.7")

    assert "Try again in 1 second." in error_text(refused)
    assert elsewhere.status_code == 302
    frozen.shift(1)
    assert submit_password(Client(), grace.email, PASSWORD, **attacker).status_code == 302


@throttle_test
def test_failures_are_forgotten_after_a_quiet_day(client, make_user, frozen):
    grace = make_user("grace@example.com", "Grace Hopper")
    office = {"REMOTE_ADDR": "203.0.113.10"}
    for n in range(19):
        fail_on(client, f"typo{n}@example.com", 1, **office)
    frozen.shift(24 * 3600 + 1)

    fail_on(client, "one-more-typo@example.com", 1, **office)  # the 20th, a day later

    assert submit_password(Client(), grace.email, PASSWORD, **office).status_code == 302
    assert LoginThrottle.objects.get(key="ip:203.0.113.10").failure_count == 1


def test_a_wrong_password_is_recorded_for_the_account_and_an_unknown_email_without_one(
    client, user
):
    fail_on(client, user.email, 1, REMOTE_ADDR="192.0.2.1")
    fail_on(client, "nobody@example.com", 1, REMOTE_ADDR="192.0.2.2")

    known, unknown = SecurityEvent.objects.order_by("id")
    assert (known.type, known.subject, known.ip) == ("login_failed", user, "192.0.2.1")
    assert (unknown.type, unknown.subject, unknown.ip) == ("login_failed", None, "192.0.2.2")
    assert "nobody" not in str(unknown.details)


def test_a_completed_login_is_recorded_with_ip_and_browser(client, user):
    log_in(client, user, REMOTE_ADDR="192.0.2.1", HTTP_USER_AGENT="Firefox/121.0")

    event = SecurityEvent.objects.get(type="login")
    assert (event.subject, event.actor, event.ip) == (user, user, "192.0.2.1")
    assert event.user_agent == "Firefox/121.0"
    assert event.details == {"second_factor": False}


@throttle_test
def test_a_throttled_login_is_recorded_for_the_account(client, user, frozen):
    fail_on(client, user.email, times=5)
    submit_password(client, user.email)
    assert SecurityEvent.objects.filter(
        subject=user, type=SecurityEvent.Type.LOGIN_THROTTLED
    ).exists()


def test_logging_out_is_recorded(client, user):
    log_in(client, user)
    client.post("/logout/")
    [event] = SecurityEvent.objects.filter(subject=user, type=SecurityEvent.Type.LOGOUT)
    assert event.ip == "127.0.0.1"


@throttle_test
def test_behind_a_trusted_proxy_the_ip_throttle_uses_the_forwarded_address(
    client, make_user, frozen, settings
):
    settings.TWOSTEP_TRUSTED_PROXIES = 1
    grace = make_user("grace@example.com", "Grace Hopper")
    proxy = "127.0.0.1"  # every request reaches the app from the proxy
    attacker = {"REMOTE_ADDR": proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    for n in range(20):
        fail_on(client, f"guess{n}@example.com", 1, **attacker)

    refused = submit_password(Client(), grace.email, PASSWORD, **attacker)
    neighbour = {"REMOTE_ADDR": proxy, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    elsewhere = submit_password(Client(), grace.email, PASSWORD, **neighbour)

    assert "Try again in 1 second." in error_text(refused)
    assert elsewhere.status_code == 302  # another client behind the same proxy logs in
    assert SecurityEvent.objects.filter(subject=grace, ip="198.51.100.7").exists()


def test_a_forwarded_header_is_ignored_without_a_trusted_proxy(client, user, settings):
    settings.TWOSTEP_TRUSTED_PROXIES = 0
    log_in(client, user, REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="203.0.113.50")
    [login] = SecurityEvent.objects.filter(subject=user, type=SecurityEvent.Type.LOGIN)
    assert login.ip == "192.0.2.10"


def test_the_client_cannot_choose_its_forwarded_address(client, user, settings):
    """With one trusted proxy, only the address that proxy appended counts."""
    settings.TWOSTEP_TRUSTED_PROXIES = 1
    spoofed = "203.0.113.66, 198.51.100.23"  # the client sent the first, the proxy the last
    log_in(client, user, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=spoofed)
    [login] = SecurityEvent.objects.filter(subject=user, type=SecurityEvent.Type.LOGIN)
    assert login.ip == "198.51.100.23"
