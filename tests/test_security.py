"""Security headers, templates fit for a strict CSP, and an admin that needs 2FA."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.accounts.url_patterns import every_url
from tests.helpers import code_for, confirmed_session, enable_2fa, log_in
from twostep.mfa.models import TOTPDevice

TEMPLATE_ROOT = Path(settings.BASE_DIR) / "twostep"
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def csp(response) -> dict[str, str]:
    directives = (
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )
    return {name: value for name, value in directives}


@pytest.mark.parametrize("path", ["/login/", "/signup/", "/password-reset/", "/profile/", "/nope/"])
def test_every_response_carries_a_strict_content_security_policy(client, db, path):
    response = client.get(path)
    policy = csp(response)

    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'none'"


def test_pages_refuse_framing_and_leak_no_referrer(client, db):
    response = client.get("/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_cookies_are_httponly_and_samesite(client, db):
    response = client.get("/login/")
    csrf = response.cookies[settings.CSRF_COOKIE_NAME]

    assert csrf["httponly"] and csrf["samesite"] == "Lax"
    assert settings.SESSION_COOKIE_HTTPONLY and settings.SESSION_COOKIE_SAMESITE == "Lax"


def templates() -> list[Path]:
    found = sorted(TEMPLATE_ROOT.glob("**/templates/**/*.html"))
    assert found, "no templates found"
    return found


@pytest.mark.parametrize("template", templates(), ids=lambda p: str(p.relative_to(TEMPLATE_ROOT)))
def test_no_template_has_inline_script_style_or_event_handler(template):
    text = template.read_text()

    assert not INLINE_SCRIPT.search(text), "inline <script>"
    assert not INLINE_STYLE.search(text), "<style> or style= attribute"
    assert not EVENT_HANDLER.search(text), "on...= event handler attribute"


def test_rendered_pages_have_no_inline_script_or_style(make_user):
    # Templates include others (widgets, the QR code): check what is actually served.
    ada = make_user()
    client = confirmed_session(Client(), ada)
    client.post("/settings/2fa/enable/")  # the set-up page with its QR code, for this session
    served = 0
    for url in every_url(dummy=str(ada.pk)):
        if url.path.startswith("/admin/"):
            continue
        response = client.get(url.path)
        if "text/html" not in response.get("Content-Type", ""):
            continue
        page = response.content.decode()
        assert not INLINE_SCRIPT.search(page), f"inline <script> on {url}"
        assert not INLINE_STYLE.search(page), f"inline style on {url}"
        served += 1
    assert served >= 5
    assert b"<svg" in client.get("/settings/2fa/setup/").content


def test_the_admin_sends_anonymous_visitors_to_the_login_page(client, db):
    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1] == ("/login/?next=%2Fadmin%2F", 302)


def test_staff_without_2fa_are_refused_the_admin_with_a_message(client, make_user):
    sam = make_user("sam@example.com", "Sam Support", is_staff=True)
    log_in(client, sam)

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1] == ("/settings/", 302)
    assert b"The administration requires a login with two-factor authentication." in (
        response.content
    )
    assert client.get("/admin/accounts/user/").status_code == 302


def test_staff_who_logged_in_with_password_and_code_get_the_admin(client, make_user, frozen):
    sam = make_user("sam@example.com", "Sam Support", is_staff=True, is_superuser=True)
    enable_2fa(sam)
    log_in(client, sam)

    response = client.get("/admin/")

    assert response.status_code == 200
    assert b"Site administration" in response.content
    assert client.get("/admin/accounts/user/").status_code == 200


def test_staff_with_2fa_on_but_a_session_without_the_code_are_refused(client, make_user):
    sam = make_user("sam@example.com", "Sam Support", is_staff=True, is_superuser=True)
    enable_2fa(sam)
    client.force_login(sam)  # a session that never proved the second factor

    response = client.get("/admin/", follow=True)

    assert response.redirect_chain[-1] == ("/settings/", 302)


def test_enrolling_in_a_password_only_session_does_not_open_the_admin_or_support(
    client, make_user, frozen
):
    sam = make_user("sam@example.com", "Sam Support", is_staff=True, is_superuser=True)
    log_in(client, sam)  # 2FA off: password only
    client.post("/settings/2fa/enable/")
    setup = client.post("/settings/2fa/setup/", {"code": code_for(device_secret(sam))})
    assert setup.status_code == 302 and TOTPDevice.objects.get(user=sam).is_active

    assert client.get("/admin/").status_code == 302
    assert client.get("/support/").status_code == 403

    client.post("/logout/")
    frozen.shift(30)  # the next code: the enrolment consumed this one
    log_in(client, sam, secret=device_secret(sam))  # password and code

    assert client.get("/admin/").status_code == 200
    assert client.get("/support/").status_code == 200


def device_secret(user) -> bytes:
    return TOTPDevice.objects.get(user=user).secret()


def test_a_non_staff_user_with_2fa_is_refused_the_admin(client, make_user, frozen):
    ada = make_user()
    enable_2fa(ada)
    log_in(client, ada)

    response = client.get("/admin/", follow=True)  # no redirect loop

    assert response.redirect_chain[-1] == ("/profile/", 302)
    assert b"The administration is open to staff only." in response.content
    assert client.get("/admin/accounts/user/").status_code == 302


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/login/", {"password"}),
        ("/login/code/", {"code"}),
        ("/login/code/?method=recovery", {"recovery_code"}),
        ("/settings/2fa/setup/", {"code"}),
        ("/confirm/", {"password", "code"}),
        ("/confirm/key/", {"password", "credential"}),
        ("/confirm/key/options/", {"password"}),
        ("/settings/password/", {"old_password", "new_password1", "new_password2"}),
        ("/signup/", {"password1", "password2"}),
    ],
)
def test_codes_and_passwords_are_hidden_from_error_reports(client, db, path, fields):
    """Django's error reports (logs, admin emails) show these POST fields as stars."""
    response = client.post(path, {name: "123456" for name in fields})
    hidden = getattr(response.wsgi_request, "sensitive_post_parameters", ())
    assert hidden == "__ALL__" or fields <= set(hidden)


def test_staff_cannot_change_a_users_email_in_the_admin(client, make_user, frozen):
    # Support must not redirect someone's recovery emails to a mailbox of their choosing.
    sam = make_user("sam@example.com", "Sam Support", is_staff=True, is_superuser=True)
    enable_2fa(sam)
    ada = make_user()
    log_in(client, sam)
    url = f"/admin/accounts/user/{ada.pk}/change/"

    page = client.get(url)
    response = client.post(
        url,
        {
            "email": "sam.private@example.com",
            "full_name": "Ada Lovelace",
            "is_active": "on",
            "date_joined_0": "2024-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2024-01-01",
            "initial-date_joined_1": "00:00:00",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302  # saved, with the address left alone
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    assert page.status_code == 200
    assert b'name="email"' not in page.content
    assert client.get("/admin/accounts/user/add/").content.count(b'name="email"') == 1
