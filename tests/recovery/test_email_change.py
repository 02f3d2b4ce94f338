"""Changing the account's email: a link to the new address, a button that moves the account,
the old address told with a link that cancels (or undoes) the change and opens a support
case; recovery requests from either address within 7 days flagged for support."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import IntegrityError, transaction
from django.test import Client

from tests.concurrency import at_once
from tests.helpers import PASSWORD, verified_session
from tests.recovery.conftest import SITE, emails_to, file_request
from twostep.accounts import email_change
from twostep.accounts.models import EmailChange, User, UserSession
from twostep.audit.models import SecurityEvent
from twostep.recovery.models import RecoveryCase, RecoveryRequest

NEW = "ada.lovelace@example.org"
CONFIRM = re.compile(re.escape(SITE) + r"(/email/confirm/\d+/\w+/)")
CANCEL = re.compile(re.escape(SITE) + r"(/email/cancel/\d+/\w+/)")


@pytest.fixture
def ada_client(ada) -> Client:
    return verified_session(Client(), ada)


def ask(client: Client, new_email: str = NEW):
    return client.post("/profile/email/", {"new_email": new_email}, REMOTE_ADDR="192.0.2.5")


def link_in(address: str, pattern: re.Pattern) -> str:
    found = pattern.findall(emails_to(address)[-1].body)
    assert len(found) == 1, emails_to(address)[-1].body
    return found[0]


def test_asking_mails_a_link_to_the_new_address_and_tells_the_old_one(ada, ada_client):
    response = ask(ada_client, "  Ada.Lovelace@Example.ORG ")

    assert response["Location"] == "/profile/"
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"  # nothing changes before the link
    assert link_in(NEW, CONFIRM) and link_in("ada@example.com", CANCEL)
    assert "IP address 192.0.2.5" in emails_to("ada@example.com")[-1].body
    event = SecurityEvent.objects.get(type="email_change_requested")
    assert event.details == {"new_email": NEW}


def test_the_link_shows_a_button_and_only_the_button_changes_the_address(ada, ada_client):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)

    page = Client().get(path)
    assert page.status_code == 200 and b"Use this address" in page.content
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"

    Client().post(path)
    ada.refresh_from_db()
    assert ada.email == NEW
    event = SecurityEvent.objects.get(type="email_changed")
    assert event.details == {"old_email": "ada@example.com", "new_email": NEW}
    told = emails_to("ada@example.com")[-1]
    assert told.subject == "Your email address was changed" and CANCEL.search(told.body)
    # The new address logs in; the old one no longer does.
    assert Client().post("/login/", {"email": NEW, "password": PASSWORD}).status_code == 302
    refused = Client().post("/login/", {"email": "ada@example.com", "password": PASSWORD})
    assert refused.status_code == 200


def test_a_link_used_twice_says_so_and_changes_nothing(ada, ada_client):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)
    Client().post(path)

    again = Client().post(path)

    assert again.status_code == 400 and b"no longer valid" in again.content
    assert SecurityEvent.objects.filter(type="email_changed").count() == 1


def test_a_replaced_request_link_no_longer_works(ada, ada_client):
    ask(ada_client)
    first = link_in(NEW, CONFIRM)
    ask(ada_client, "ada@elsewhere.example")

    assert Client().post(first).status_code == 400
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"


def test_an_expired_link_does_not_work(ada, ada_client, frozen):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)
    frozen.shift(email_change.CONFIRM_WITHIN.total_seconds() + 1)

    assert Client().post(path).status_code == 400
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"


@pytest.mark.parametrize("token", ["0" * 64, "nothex", ""])
def test_a_forged_link_does_not_work(ada, ada_client, token):
    ask(ada_client)
    pk = EmailChange.objects.get().pk

    assert Client().get(f"/email/confirm/{pk}/{token}x/").status_code == 400
    assert Client().post(f"/email/confirm/{pk}/{token}x/").status_code == 400
    assert Client().post(f"/email/confirm/999/{token}x/").status_code == 400


def test_an_address_with_an_account_gets_a_note_and_the_page_answers_the_same(
    ada, ada_client, make_user
):
    make_user("grace@example.com", "Grace Hopper")

    response = ask(ada_client, "Grace@example.com")

    assert response["Location"] == "/profile/"
    note = emails_to("grace@example.com")[-1]
    assert "already belongs to an account" in note.body and "/email/" not in note.body


@pytest.mark.parametrize("typed", ["ada@example.com", " ADA@example.com", "not an address"])
def test_bad_input_gets_a_clear_message_and_changes_nothing(ada, ada_client, typed):
    response = ask(ada_client, typed)

    assert response.status_code == 200 and response.context["form"].errors
    assert not EmailChange.objects.exists()


def test_a_sign_up_that_took_the_address_meanwhile_wins_and_the_link_says_so(ada, ada_client):
    ask(ada_client)
    path = link_in(NEW, CONFIRM)
    User.objects.create_user(NEW, "another password 1", full_name="Someone Else")

    response = Client().post(path)

    assert response.status_code == 400 and b"belongs to another account" in response.content
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    assert not SecurityEvent.objects.filter(type="email_changed").exists()


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_at_once_change_the_address_once(make_user, frozen):
    ada = make_user()
    ask(verified_session(Client(), ada))
    path = link_in(NEW, CONFIRM)

    outcome = at_once(lambda: Client().post(path), lambda: Client().post(path))

    assert not outcome.errors
    assert sorted(r.status_code for r in outcome.results) == [200, 400]
    assert SecurityEvent.objects.filter(type="email_changed").count() == 1


def test_the_unique_constraint_refuses_a_second_account_with_the_address(ada):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(" ADA@example.com", None, full_name="Copy")


# The old address's link: cancel or undo, every session ended, a support case opened.


def test_cancelling_a_pending_change_ends_sessions_and_opens_a_case(ada, ada_client):
    ask(ada_client)
    cancel = link_in("ada@example.com", CANCEL)
    confirm = link_in(NEW, CONFIRM)

    assert b"Cancel the change" in Client().get(cancel).content
    response = Client().post(cancel)

    assert response.status_code == 200 and b"The change is cancelled" in response.content
    assert not UserSession.objects.filter(user=ada).exists()
    case = RecoveryCase.objects.get(account=ada)
    request = case.requests.get()
    assert (request.source, request.email_change.pk) == ("change", EmailChange.objects.get().pk)
    assert emails_to("ada@example.com")[-1].subject != ""  # the case's links, to the old address
    assert not [m for m in emails_to(NEW) if "case" in m.body.lower()]
    # The new address's link is dead now.
    assert Client().post(confirm).status_code == 400
    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    event = SecurityEvent.objects.get(type="email_change_cancelled")
    assert event.details["old_email_restored"] is True


def test_cancelling_a_done_change_gives_the_old_address_back(ada, ada_client):
    ask(ada_client)
    Client().post(link_in(NEW, CONFIRM))

    Client().post(link_in("ada@example.com", CANCEL))

    ada.refresh_from_db()
    assert ada.email == "ada@example.com"
    assert RecoveryCase.objects.filter(account=ada).exists()


def test_the_cancel_link_used_twice_says_so_and_changes_nothing(ada, ada_client):
    ask(ada_client)
    cancel = link_in("ada@example.com", CANCEL)
    Client().post(cancel)

    again = Client().post(cancel)

    assert again.status_code == 400 and b"no longer valid" in again.content
    assert SecurityEvent.objects.filter(type="email_change_cancelled").count() == 1
    assert RecoveryRequest.objects.count() == 1


def test_the_cancel_link_expires_after_7_days(ada, ada_client, frozen):
    ask(ada_client)
    cancel = link_in("ada@example.com", CANCEL)
    frozen.shift(timedelta(days=7, seconds=1).total_seconds())

    assert Client().post(cancel).status_code == 400
    assert not RecoveryCase.objects.exists()


# Recovery requests from either address during the 7 days are flagged.


def test_a_recovery_request_from_the_old_address_reaches_the_account_flagged(ada, ada_client):
    ask(ada_client)
    Client().post(link_in(NEW, CONFIRM))

    case = file_request(email="ada@example.com")

    assert case is not None and case.account == ada
    assert case.requests.get().email_change == EmailChange.objects.get()


def test_a_recovery_request_from_the_new_address_is_flagged(ada, ada_client, frozen):
    ask(ada_client)
    Client().post(link_in(NEW, CONFIRM))
    frozen.shift(timedelta(days=6).total_seconds())

    case = file_request(email=NEW)

    assert case.requests.get().email_change is not None


def test_after_7_days_requests_are_no_longer_flagged(ada, ada_client, frozen):
    ask(ada_client)
    Client().post(link_in(NEW, CONFIRM))
    frozen.shift(timedelta(days=7, seconds=1).total_seconds())

    assert file_request(email="ada@example.com") is None  # no account has that address
    assert file_request(email=NEW).requests.get().email_change is None


def test_the_support_console_flags_the_case(ada, ada_client, agent):
    ask(ada_client)
    Client().post(link_in(NEW, CONFIRM))
    case = file_request(email=NEW)

    queue = agent.get("/support/").content.decode()
    page = agent.get(f"/support/cases/{case.pk}/").content.decode()

    assert "email change" in queue.lower()
    assert "email change" in page.lower() and "ada@example.com" in page


def test_the_links_are_absolute_on_the_site_url(ada, ada_client):
    ask(ada_client)
    assert urlsplit(SITE + link_in(NEW, CONFIRM)).netloc == urlsplit(SITE).netloc
