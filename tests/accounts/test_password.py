"""Changing a password in Settings, and resetting it with a link sent by email."""

import re

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client

from tests.helpers import (
    CODE,
    LOGIN,
    PASSWORD,
    SITE,
    confirmed_session,
    enable_2fa,
    error_text,
    submit_password,
)
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import deliver_due

NEW = "a brand new passphrase 42"
LINK = re.compile(re.escape(SITE) + r"(/password-reset/[^/\s]+/[^/\s]+/)")


def change(client, old=PASSWORD, new1=NEW, new2=NEW):
    return client.post(
        "/settings/password/",
        {"old_password": old, "new_password1": new1, "new_password2": new2},
        REMOTE_ADDR="192.0.2.5",
    )


@pytest.fixture
def ada_client(client, user):
    confirmed_session(client, user)
    return client


def test_changing_the_password_records_it_emails_the_owner_and_stays_logged_in(ada_client, user):
    response = change(ada_client)

    assert response["Location"] == "/settings/"
    user.refresh_from_db()
    assert check_password(NEW, user.password)
    event = SecurityEvent.objects.get(type="password_changed")
    assert (event.subject, event.actor, event.ip) == (user, user, "192.0.2.5")
    mail = OutgoingEmail.objects.get()
    assert (mail.to, mail.subject) == ("ada@example.com", "Your password was changed")
    settings_page = ada_client.get("/settings/")
    assert settings_page.status_code == 200
    assert b"Your password has been changed." in settings_page.content


def test_changing_the_password_logs_out_the_other_sessions(ada_client, user):
    elsewhere = Client()
    elsewhere.force_login(user)

    change(ada_client)

    assert elsewhere.get("/profile/")["Location"] == "/login/?next=/profile/"
    assert ada_client.get("/profile/").status_code == 200


@pytest.mark.parametrize(
    ("old", "new1", "new2", "field"),
    [
        ("wrong old password", NEW, NEW, "old_password"),
        (PASSWORD, NEW, NEW + "!", "new_password2"),
        (PASSWORD, "password", "password", "new_password2"),
        (PASSWORD, "12345678901", "12345678901", "new_password2"),
        (PASSWORD, "ada lovelace", "ada lovelace", "new_password2"),  # the owner's name
    ],
)
def test_a_refused_password_change_changes_nothing(ada_client, user, old, new1, new2, field):
    response = change(ada_client, old, new1, new2)

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    user.refresh_from_db()
    assert check_password(PASSWORD, user.password)
    assert not SecurityEvent.objects.filter(type="password_changed").exists()
    assert not OutgoingEmail.objects.exists()


def ask_reset(client, email):
    return client.post("/password-reset/", {"email": email})


def reset_link(mailoutbox) -> str:
    assert deliver_due() == 1
    (message,) = mailoutbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "Reset your Bpart password"
    return LINK.search(message.body)[1]


def set_new_password(client, link: str):
    form_page = client.get(link)  # Django moves the token into the session first
    assert form_page.status_code == 302
    return client.post(form_page["Location"], {"new_password1": NEW, "new_password2": NEW})


def test_a_reset_email_is_queued_then_delivered_with_a_working_link(client, user, mailoutbox):
    response = ask_reset(client, "Ada@Example.com")

    assert response["Location"] == "/password-reset/sent/"
    assert OutgoingEmail.objects.get().status == "queued"
    assert mailoutbox == []  # nothing leaves before the worker runs
    link = reset_link(mailoutbox)

    done = set_new_password(client, link)

    assert done["Location"] == "/password-reset/complete/"
    user.refresh_from_db()
    assert check_password(NEW, user.password)
    assert SecurityEvent.objects.filter(type="password_reset", subject=user).exists()
    assert OutgoingEmail.objects.filter(subject="Your password was changed").exists()


def test_a_reset_does_not_log_anyone_in(client, user, mailoutbox):
    ask_reset(client, user.email)
    set_new_password(client, reset_link(mailoutbox))

    assert "_auth_user_id" not in client.session
    assert client.get("/profile/")["Location"] == "/login/?next=/profile/"


def test_a_reset_ends_the_sessions_logged_in_with_the_old_password(client, user, mailoutbox):
    elsewhere = Client()
    elsewhere.force_login(user)
    ask_reset(client, user.email)

    set_new_password(client, reset_link(mailoutbox))

    assert elsewhere.get("/profile/")["Location"] == "/login/?next=/profile/"


def test_a_reset_link_works_once(client, user, mailoutbox):
    ask_reset(client, user.email)
    link = reset_link(mailoutbox)
    set_new_password(client, link)

    again = Client().get(link, follow=True)

    assert again.status_code == 200
    assert again.context["validlink"] is False
    assert b"This link is invalid or has already been used." in again.content


def test_after_a_reset_a_user_with_2fa_is_still_asked_for_the_code(client, user, mailoutbox):
    enable_2fa(user)
    ask_reset(client, user.email)
    set_new_password(client, reset_link(mailoutbox))

    response = submit_password(Client(), user.email, NEW)

    assert response["Location"] == CODE
    assert SecurityEvent.objects.filter(type="password_ok").exists()


def test_the_old_password_no_longer_works_after_a_reset(client, user, mailoutbox):
    ask_reset(client, user.email)
    set_new_password(client, reset_link(mailoutbox))

    refused = submit_password(Client(), user.email, PASSWORD)

    assert error_text(refused) == "Invalid email or password."


def test_an_unknown_email_gets_the_same_sent_page_and_a_note_without_a_link(
    client, user, mailoutbox
):
    unknown = ask_reset(client, "nobody@example.com")
    known = ask_reset(Client(), user.email)

    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"] == "/password-reset/sent/"
    page = client.get(unknown["Location"]).content.decode()
    assert "If this address belongs to an account, we have sent it a link" in page
    deliver_due()
    note = next(m for m in mailoutbox if m.to == ["nobody@example.com"])
    assert note.subject == "Password reset requested for this address"
    assert "no active account" in note.body and "/password-reset/" not in note.body


def test_an_inactive_account_gets_no_reset_link(client, make_user, mailoutbox):
    make_user(is_active=False)

    assert ask_reset(client, "ada@example.com")["Location"] == "/password-reset/sent/"
    deliver_due()
    [note] = mailoutbox
    assert "/password-reset/" not in note.body


def test_the_reset_page_links_from_the_login_page(client):
    assert b'href="/password-reset/"' in client.get(LOGIN).content


def test_a_reset_request_is_recorded_for_the_account(client, user, mailoutbox):
    ask_reset(client, user.email)
    [event] = SecurityEvent.objects.filter(subject=user, type="password_reset_requested")
    assert event.ip == "127.0.0.1"
