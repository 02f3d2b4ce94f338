"""Sign-up: an inactive account until the emailed link is opened, once."""

import re

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password
from django.test import Client

from tests.concurrency import at_once
from tests.helpers import PASSWORD, SITE, error_text, submit_password
from twostep.accounts.models import User
from twostep.accounts.tokens import signup_link
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import deliver_due

pytestmark = pytest.mark.django_db

LINK = re.compile(re.escape(SITE) + r"(/signup/confirm/[^/\s]+/[^/\s]+/)")
GRACE = {
    "full_name": "Grace Hopper",
    "email": "Grace@Example.com",
    "password1": "nanoseconds and bugs",
    "password2": "nanoseconds and bugs",
}


def sign_up(client, **changes):
    return client.post("/signup/", {**GRACE, **changes})


def confirmation_link(mailoutbox) -> str:
    deliver_due()
    message = mailoutbox[-1]
    assert message.subject == "Confirm your email address"
    return LINK.search(message.body)[1]


def confirm(link: str, **extra):
    """Open the link in a fresh browser, then press the button on the page it shows."""
    browser = Client()
    page = browser.get(link)
    if page.status_code != 200:
        return page
    return browser.post(link, **extra)


def test_sign_up_creates_an_inactive_account_and_emails_a_link(client):
    response = sign_up(client)

    assert response.status_code == 200
    assert b"We have sent a confirmation link to <strong>Grace@Example.com</strong>" in (
        response.content
    )
    grace = User.objects.get()
    assert (grace.email, grace.full_name, grace.is_active) == (
        "grace@example.com",
        "Grace Hopper",
        False,
    )
    assert check_password("nanoseconds and bugs", grace.password)
    assert OutgoingEmail.objects.get().to == "grace@example.com"
    assert SecurityEvent.objects.get().type == "signup"


def test_the_account_cannot_log_in_before_the_link_is_opened(client):
    sign_up(client)

    response = submit_password(Client(), "grace@example.com", "nanoseconds and bugs")

    assert error_text(response) == "Invalid email or password."


def test_opening_the_link_activates_the_account_and_it_can_log_in(client, mailoutbox):
    sign_up(client)
    link = confirmation_link(mailoutbox)

    response = confirm(link, follow=True)

    assert response.redirect_chain == [("/login/", 302)]
    assert b"Your email address is confirmed. You can log in now." in response.content
    assert User.objects.get().is_active
    assert SecurityEvent.objects.filter(type="signup_confirmed").count() == 1
    login = submit_password(Client(), "grace@example.com", "nanoseconds and bugs")
    assert login["Location"] == "/profile/"


def test_the_link_works_once(client, mailoutbox):
    sign_up(client)
    link = confirmation_link(mailoutbox)
    confirm(link)

    again = Client().get(link)
    again_post = Client().post(link)

    assert again.status_code == again_post.status_code == 400
    assert b"This link does not work" in again.content
    assert b"This link does not work" in again_post.content
    assert SecurityEvent.objects.filter(type="signup_confirmed").count() == 1


def test_a_tampered_link_does_not_work(client, mailoutbox):
    sign_up(client)
    link = confirmation_link(mailoutbox)

    assert Client().get(link[:-3] + "xx/").status_code == 400
    assert Client().post(link[:-3] + "xx/").status_code == 400
    assert Client().get("/signup/confirm/!!/x/").status_code == 400
    assert Client().post("/signup/confirm/!!/x/").status_code == 400
    assert not User.objects.get().is_active


def test_signing_up_with_an_existing_address_creates_nothing_and_tells_the_owner(
    client, user, mailoutbox
):
    fresh = sign_up(Client(), email="newcomer@example.com")
    existing = sign_up(client, email="ADA@example.com")

    assert existing.status_code == fresh.status_code == 200
    assert existing.content.replace(b"ADA@example.com", b"EMAIL") == fresh.content.replace(
        b"newcomer@example.com", b"EMAIL"
    )
    user.refresh_from_db()
    assert (user.full_name, user.is_active) == ("Ada Lovelace", True)
    assert check_password(PASSWORD, user.password)
    assert User.objects.count() == 2  # Ada and the newcomer
    deliver_due()
    to_ada = [m for m in mailoutbox if m.to == ["ada@example.com"]]
    assert [m.subject for m in to_ada] == ["Someone tried to sign up with your address"]
    assert f"{SITE}/" in to_ada[0].body


def test_signing_up_with_an_existing_address_costs_one_password_hash_too(client, user, monkeypatch):
    # The answer must not come back faster for a known address (timing enumeration).
    calls = []
    encode = Argon2PasswordHasher.encode

    def spy(self, password, salt):
        calls.append(password)
        return encode(self, password, salt)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", spy)

    sign_up(client, email="ada@example.com")
    sign_up(Client(), email="newcomer@example.com")

    assert calls == ["nanoseconds and bugs", "nanoseconds and bugs"]


def test_a_second_sign_up_before_confirmation_replaces_the_first_and_kills_its_link(
    client, mailoutbox
):
    # Account pre-hijacking: someone else signs up with Grace's address first.
    sign_up(
        client, full_name="Mallory", password1="mallory's own pass", password2="mallory's own pass"
    )
    first_link = confirmation_link(mailoutbox)
    sign_up(Client())
    second_link = confirmation_link(mailoutbox)

    assert Client().get(first_link).status_code == 400
    assert Client().post(first_link).status_code == 400
    assert confirm(second_link).status_code == 302
    grace = User.objects.get()
    assert (grace.full_name, grace.is_active) == ("Grace Hopper", True)
    assert check_password("nanoseconds and bugs", grace.password)
    assert not check_password("mallory's own pass", grace.password)


def test_a_deactivated_account_cannot_come_back_through_sign_up(client, mailoutbox):
    sign_up(client)
    link = confirmation_link(mailoutbox)
    confirm(link)
    User.objects.update(is_active=False)  # staff deactivated the account

    old_link = Client().get(link)
    old_link_post = Client().post(link)
    sign_up(Client())
    deliver_due()

    assert old_link.status_code == old_link_post.status_code == 400
    assert mailoutbox[-1].subject == "Someone tried to sign up with your address"
    assert not User.objects.get().is_active


def test_an_account_staff_created_inactive_cannot_be_activated_by_sign_up(
    client, make_user, mailoutbox
):
    make_user("grace@example.com", "Grace Hopper", is_active=False)

    sign_up(client)
    deliver_due()

    assert [m.subject for m in mailoutbox] == ["Someone tried to sign up with your address"]
    assert not User.objects.get().is_active


def test_signing_up_again_before_confirming_sends_a_fresh_link(client, mailoutbox):
    sign_up(client)
    sign_up(Client())

    links = [LINK.search(m.body)[1] for m in (deliver_due() and mailoutbox)]

    assert User.objects.count() == 1
    assert len(links) == 2
    assert confirm(links[1]).status_code == 302


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"password1": "password123", "password2": "password123"}, "password1", "too common"),
        ({"password1": "83749201938", "password2": "83749201938"}, "password1", "entirely numeric"),
        ({"password1": "grace hopper", "password2": "grace hopper"}, "password1", "too similar"),
        ({"password2": "something else entirely"}, "password2", "The two passwords differ."),
        ({"email": "not an address"}, "email", "valid email"),
        ({"full_name": ""}, "full_name", "required"),
        *(
            ({"full_name": name}, "full_name", "no line breaks or control characters")
            for name in (
                "Grace\r\nBcc: everyone@example.com",
                "Grace\nHopper",
                "Grace\tHopper",
                "Grace\x00Hopper",
                "Grace\x85Hopper",  # NEL, a C1 control
                "Grace\u2028Hopper",  # line separator
                "Grace\u2029Hopper",  # paragraph separator
            )
        ),
    ],
)
def test_bad_sign_up_input_gives_form_errors_and_creates_nothing(client, changes, field, message):
    response = sign_up(client, **changes)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not User.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_with_sign_up_off_the_page_and_the_confirm_link_are_closed(client, make_user, settings):
    settings.TWOSTEP_SIGNUP = False
    pending = make_user("grace@example.com", "Grace Hopper", is_active=False)
    link = signup_link(pending)

    page = client.get("/signup/")
    post = sign_up(client, email="newcomer@example.com")
    confirm_page = client.get(link)
    confirm_post = client.post(link)

    assert page.status_code == post.status_code == 404
    assert confirm_page.status_code == confirm_post.status_code == 404
    assert b"Sign-up is closed" in page.content
    assert User.objects.count() == 1 and not User.objects.get().is_active
    assert b'href="/signup/"' not in client.get("/login/").content


def test_with_sign_up_on_the_login_page_links_to_it(client):
    assert b'href="/signup/"' in client.get("/login/").content


def test_opening_the_link_only_shows_a_button_and_changes_nothing(client, mailoutbox):
    # Mail scanners open links: a GET must not confirm (account pre-hijacking).
    sign_up(client)
    link = confirmation_link(mailoutbox)

    first = Client().get(link)
    second = Client().get(link)

    assert first.status_code == second.status_code == 200
    page = first.content.decode()
    assert re.search(
        r'<form method="post">\s*<input type="hidden" name="csrfmiddlewaretoken"', page
    )
    assert re.search(r'<button type="submit"[^>]*>Confirm my email address</button>', page)
    assert "grace@example.com" in page
    assert not User.objects.get().is_active
    assert not SecurityEvent.objects.filter(type="signup_confirmed").exists()
    assert confirm(link).status_code == 302
    assert User.objects.get().is_active


def test_the_confirm_button_needs_the_csrf_token(client, mailoutbox, settings):
    sign_up(client)
    link = confirmation_link(mailoutbox)
    browser = Client(enforce_csrf_checks=True)
    browser.get(link)

    forged = browser.post(link)
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value
    real = browser.post(link, {"csrfmiddlewaretoken": token})

    assert forged.status_code == 403
    assert real.status_code == 302
    assert User.objects.get().is_active


@pytest.mark.parametrize("name", ["Zoë O'Brien-Smith", "فاطمه\u200cزهرا", "李 小龍"])
def test_names_in_any_script_are_accepted(client, name):
    sign_up(client, full_name=name)

    assert User.objects.get(email="grace@example.com").full_name == name


@pytest.mark.django_db(transaction=True)
def test_two_sign_ups_for_a_new_address_at_once_make_one_account_and_no_error():
    def submit() -> None:
        assert b"We have sent a confirmation link" in sign_up(Client()).content

    assert at_once(submit, submit).errors == []
    assert User.objects.filter(email__iexact=GRACE["email"]).count() == 1
