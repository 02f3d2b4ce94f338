"""What kills a pending email change (the asking session ending, "This wasn't me", a
password change or reset, a support reset), stale cancel links,
the confirmation page in someone else's browser, a rotated secret, translations."""

import re
from datetime import datetime

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation.template import templatize

from tests.helpers import PASSWORD, verified_session
from tests.recovery.conftest import DELAY, emails_to
from tests.recovery.test_email_change import CANCEL, CONFIRM, NEW, ask, link_in
from twostep.accounts import email_change, new_browser
from twostep.accounts.models import EmailChange, User, UserSession
from twostep.audit.models import SecurityEvent
from twostep.mail.services import deliver_due
from twostep.recovery import resets
from twostep.recovery.models import RecoveryCase

ADA = "ada@example.com"
NEW_PASSWORD = "a brand new passphrase 42"
RESET = re.compile(r"(/password-reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture
def ada_client(ada) -> Client:
    return verified_session(Client(), ada)


def assert_voided(ada: User, reason: str) -> None:
    change = EmailChange.objects.get()
    assert change.status == EmailChange.Status.VOID and change.cancelled_at is not None
    event = SecurityEvent.objects.get(type="email_change_cancelled")
    assert event.details == {"old_email": ADA, "new_email": NEW, "reason": reason}
    ada.refresh_from_db()
    assert ada.email == ADA


# 1. A pending change dies with the session that asked, and when the account is secured.


def test_the_link_stops_working_once_the_asking_session_has_ended(ada, ada_client):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)

    ada_client.post("/logout/")

    assert Client().get(path).status_code == 400  # no button that would fail
    assert Client().post(path).status_code == 400
    ada.refresh_from_db()
    assert ada.email == ADA


def test_this_wasnt_me_voids_a_pending_change(ada, ada_client):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)
    token = signing.dumps({"u": ada.pk, "t": datetime.now().timestamp() - 1}, salt=new_browser.SALT)

    Client().post(reverse("accounts:not_me", kwargs={"token": token}))

    assert_voided(ada, "signed out everywhere")
    assert Client().post(path).status_code == 400


def test_a_password_change_voids_a_pending_change(ada, ada_client):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)

    changed = ada_client.post(
        "/settings/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert_voided(ada, "password changed")
    # The session that asked is still open: the change is dead all the same.
    assert Client().post(path).status_code == 400


def test_a_password_reset_voids_a_pending_change(ada, ada_client, mailoutbox):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)
    Client().post("/password-reset/", {"email": ADA})
    deliver_due()
    (reset_mail,) = [m for m in mailoutbox if m.subject.startswith("Reset your")]
    browser = Client()
    form_page = browser.get(RESET.search(reset_mail.body)[1])

    browser.post(
        form_page["Location"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert_voided(ada, "password reset")
    assert Client().post(path).status_code == 400


def test_a_support_reset_voids_a_pending_change(ada, approved_case, frozen):
    frozen.shift(DELAY + 60)
    ask(verified_session(Client(), ada))
    path = link_in(NEW, CONFIRM)

    assert resets.perform_due_resets() == 1

    assert_voided(ada, "support reset")
    assert Client().post(path).status_code == 400


# 3. A cancel link overtaken by a later change refuses, changing nothing.


@pytest.mark.parametrize("confirm_later", [False, True])
def test_a_cancel_link_overtaken_by_a_later_change_refuses(ada, ada_client, confirm_later):
    ask(ada_client)
    Client().post(link_in(NEW, CONFIRM))
    stale = link_in(ADA, CANCEL)
    ask(ada_client, "ada@third.example")
    if confirm_later:
        Client().post(link_in("ada@third.example", CONFIRM))
    sessions = UserSession.objects.filter(user=ada).count()

    response = Client().post(stale)

    assert response.status_code == 400 and b"changed again" in response.content
    assert b"belongs to another account" not in response.content
    assert UserSession.objects.filter(user=ada).count() == sessions == 1
    assert not RecoveryCase.objects.exists()
    assert not SecurityEvent.objects.filter(type="email_change_cancelled").exists()
    ada.refresh_from_db()
    assert ada.email == ("ada@third.example" if confirm_later else NEW)


# 4. The confirmation page speaks of the address, not of whoever is logged in.


def test_confirming_in_a_browser_logged_in_to_another_account_says_nothing_about_it(
    ada, ada_client, grace
):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)

    response = verified_session(Client(), grace).post(path)

    assert response.status_code == 200 and NEW.encode() in response.content
    assert b"Your account" not in response.content
    ada.refresh_from_db()
    grace.refresh_from_db()
    assert (ada.email, grace.email) == (NEW, "grace@example.com")


def test_an_expired_link_shows_no_button(ada, ada_client, frozen):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)
    frozen.shift(email_change.CONFIRM_WITHIN.total_seconds() + 1)

    page = Client().get(path)

    assert page.status_code == 400 and b"Use this address" not in page.content


# 5. Whole sentences for translators; labels translated.


def test_the_request_mail_has_whole_sentences_to_translate(settings):
    source = (
        settings.BASE_DIR / "twostep/accounts/templates/mail/email_change_requested.txt"
    ).read_text()

    code = templatize(source)

    assert "(%(when)s, IP address %(ip)s, %(browser)s)." in code
    assert "%(new)s (%(when)s)." in code


def test_the_status_and_source_labels_are_translated():
    assert all(isinstance(label, Promise) for label in EmailChange.Status.labels)
    assert isinstance(RecoveryCase.Source.EMAIL_CHANGE.label, Promise)


# 6. A secret rotated through SECRET_KEY_FALLBACKS keeps the mailed links working.


def test_links_made_before_a_key_rotation_still_work(ada, ada_client, settings):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a brand new secret key " * 3

    assert Client().post(path).status_code == 200
    ada.refresh_from_db()
    assert ada.email == NEW


def test_links_made_with_a_retired_key_do_not_work(ada, ada_client, settings):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)
    settings.SECRET_KEY = "a brand new secret key " * 3

    assert Client().post(path).status_code == 400
    assert emails_to(ADA)  # the old address was told of the request all the same
