"""Half-logged-in is not logged in: after the password, before the code, every URL except
the code page (and its security-key requests), its help page and logout answers exactly as
it answers an anonymous visitor."""

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client

from tests.accounts.url_patterns import Url, every_url
from tests.helpers import PASSWORD, SECRET, client_with_session, code_for
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mfa.models import TOTPDevice

# The second step is a page and, for security keys, its two requests (options, answer).
SERVES_PENDING = {"login:code", "login:key_options", "login:key", "login:help", "login:logout"}


def answer(response) -> tuple[int, str | None]:
    return response.status_code, response.get("Location")


def differences(session_data: dict, urls: list[Url], method: str, user) -> list[str]:
    """URLs where a client holding `session_data` is answered unlike an anonymous one."""
    found = []
    for url in urls:
        # A fresh copy of the session per URL: no page can spoil the state for the next.
        theirs = getattr(client_with_session(session_data), method)(url.path)
        anonymous = getattr(Client(), method)(url.path)
        if answer(theirs) != answer(anonymous):
            found.append(
                f"{method.upper()} {url}: {answer(theirs)} vs anonymous {answer(anonymous)}"
            )
        elif user.email.encode() in theirs.content or b'data-testid="user-menu"' in theirs.content:
            found.append(f"{method.upper()} {url}: shows the account")
    return found


@pytest.fixture
def pending_session(pending_client) -> dict:
    data = dict(pending_client.session.items())
    assert "twostep_pending_login" in data and "_auth_user_id" not in data
    return data


@pytest.fixture
def urls(ada_2fa) -> list[Url]:
    urls = [url for url in every_url(dummy=str(ada_2fa.pk)) if url.name not in SERVES_PENDING]
    names = {url.name for url in urls}
    # The walk really reaches the account pages and the admin.
    assert {"accounts:profile", "accounts:settings", "mfa:disable", "admin:index"} <= names
    assert "admin:accounts_user_change" in names
    return urls


def test_every_url_answers_a_pending_login_as_it_answers_an_anonymous_visitor(
    pending_session, urls, ada_2fa
):
    assert differences(pending_session, urls, "get", ada_2fa) == []


def test_every_url_answers_a_pending_post_as_it_answers_an_anonymous_post(
    pending_session, urls, ada_2fa
):
    assert differences(pending_session, urls, "post", ada_2fa) == []


def test_the_pending_session_does_get_the_code_page(pending_session):
    assert client_with_session(pending_session).get("/login/code/").status_code == 200
    assert Client().get("/login/code/").status_code == 302


def test_the_pages_that_serve_a_pending_login_do_not_log_it_in(pending_client):
    assert pending_client.get("/login/code/").status_code == 200
    assert pending_client.get("/login/help/", follow=True).status_code == 200
    assert pending_client.post("/login/code/", {"code": "000000"}).status_code == 200
    assert pending_client.post("/login/code/", {"code": "not a code"}).status_code == 200

    assert "_auth_user_id" not in pending_client.session
    assert pending_client.get("/profile/")["Location"] == "/login/?next=/profile/"


def test_the_comparison_catches_a_logged_in_session(client, ada_2fa, urls):
    # The same walk with a real login must find the account pages: the test can fail.
    client.force_login(ada_2fa)
    found = differences(dict(client.session.items()), urls, "get", ada_2fa)
    assert any("/profile/" in line for line in found)
    assert any("/settings/" in line for line in found)


def test_state_changing_posts_from_a_pending_login_change_nothing(pending_client, ada_2fa):
    device = TOTPDevice.objects.get(user=ada_2fa)
    events = SecurityEvent.objects.count()
    code = code_for(SECRET)

    responses = [
        pending_client.post("/settings/2fa/enable/"),
        pending_client.post("/settings/2fa/setup/", {"code": code}),
        pending_client.post("/settings/2fa/disable/", {"code": code}),
        pending_client.post(
            "/settings/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "a brand new passphrase 42",
                "new_password2": "a brand new passphrase 42",
            },
        ),
    ]

    assert [r.status_code for r in responses] == [302] * 4
    assert all(r["Location"].startswith("/login/?next=") for r in responses)
    after = TOTPDevice.objects.get(user=ada_2fa)
    assert (after.pk, after.encrypted_secret, after.confirmed_at) == (
        device.pk,
        device.encrypted_secret,
        device.confirmed_at,
    )
    assert after.last_used_step == device.last_used_step  # the code was not even consumed
    ada_2fa.refresh_from_db()
    assert check_password(PASSWORD, ada_2fa.password)
    assert SecurityEvent.objects.count() == events
    assert not OutgoingEmail.objects.exists()
    # And the code still completes the login afterwards.
    assert pending_client.post("/login/code/", {"code": code})["Location"] == "/profile/"
