"""A remembered browser proves no factor: its login is not "verified with a second factor"
(the LOGIN event says so), staff are never offered the box nor recognised, the person
still uses their account and proves a factor through "confirm it's you" where one is
needed; a remembered login clears an older half-login; the days' setting is bounded, and
shortens browsers already remembered when lowered; and a password or methods change
committed after the login loaded the account leaves no browser remembered."""

from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import Client

from tests.helpers import (
    CODE,
    code_for,
    create_user,
    enable_2fa,
    log_in,
    remembered_browser,
    start_django,
    submit_code,
    submit_password,
)
from twostep.accounts.models import RememberedBrowser, User
from twostep.audit.models import SecurityEvent
from twostep.login import flow, pending
from twostep.mfa.models import MfaState
from twostep.mfa.session import marked_verified

REMEMBER = "twostep_remember_token"
CONFIRM = "/confirm/"


def remembered_login(user: User) -> Client:
    """A remembered browser of `user`, logged in again with the password only."""
    client = remembered_browser(user)
    assert submit_password(client, user.email)["Location"] != CODE
    return client


def test_a_remembered_login_is_not_verified_with_a_second_factor(ada_2fa):
    client = remembered_login(ada_2fa)

    assert not marked_verified(client.session)
    login = SecurityEvent.objects.filter(type=SecurityEvent.Type.LOGIN).first()
    assert login is not None
    assert login.details == {"second_factor": False, "remembered_browser": True}


def test_a_remembered_person_uses_their_account_and_confirms_for_gated_actions(ada_2fa):
    client = remembered_login(ada_2fa)

    assert client.get("/profile/").status_code == 200
    assert client.get("/settings/").status_code == 200
    assert client.get("/settings/sessions/").status_code == 200
    gated = client.get("/settings/2fa/disable/")
    assert gated.status_code == 302 and gated["Location"].startswith(CONFIRM)


def test_a_remembered_manager_is_sent_to_confirm_before_a_vouch_page(ada_2fa):
    client = remembered_login(ada_2fa)

    response = client.get("/vouch/1/")

    assert response.status_code == 302 and response["Location"].startswith(CONFIRM)


def test_after_confirming_a_remembered_manager_opens_the_vouch_page(ada_2fa, frozen):
    client = remembered_login(ada_2fa)
    frozen.shift(30)
    confirmed = client.post(
        f"{CONFIRM}?next=/vouch/1/",
        {"password": "correct horse battery staple", "code": code_for()},
    )
    assert confirmed.status_code == 302, confirmed.content

    assert client.get("/vouch/1/").status_code == 404  # past the gate: no such vouch


def test_without_2fa_a_vouch_page_stays_refused(user):
    client = Client()
    log_in(client, user)
    assert client.get("/vouch/1/").status_code == 403


@pytest.fixture
def sam(make_user, frozen) -> User:
    staff = make_user("sam@example.com", "Sam Support", is_staff=True)
    enable_2fa(staff)
    return staff


def test_staff_are_not_offered_the_box_and_a_posted_one_is_ignored(sam):
    client = Client()
    submit_password(client, sam.email)
    assert 'name="remember"' not in client.get(CODE).content.decode()

    response = submit_code(client, code_for(), remember=True)

    assert response.status_code == 302 and REMEMBER not in response.cookies
    assert not RememberedBrowser.objects.exists()


def test_a_browser_remembered_before_becoming_staff_is_not_recognised(sam, frozen):
    User.objects.filter(pk=sam.pk).update(is_staff=False)
    sam.refresh_from_db()
    client = remembered_browser(sam)
    User.objects.filter(pk=sam.pk).update(is_staff=True)
    frozen.shift(60)

    response = submit_password(client, sam.email)

    assert response["Location"] == CODE
    assert RememberedBrowser.objects.get().last_used_at is None


def test_a_remembered_login_clears_an_older_half_login(ada_2fa, make_user):
    grace = make_user("grace@example.com", "Grace Hopper")
    enable_2fa(grace)
    client = remembered_browser(ada_2fa)
    assert submit_password(client, grace.email)["Location"] == CODE  # Grace's half-login

    assert submit_password(client, ada_2fa.email)["Location"] != CODE

    assert pending.SESSION_KEY not in client.session


def test_a_login_without_2fa_clears_an_older_half_login(ada_2fa):
    bob = create_user("bob@example.com", "Bob")
    client = Client()
    assert submit_password(client, ada_2fa.email)["Location"] == CODE

    assert submit_password(client, bob.email)["Location"] != CODE

    assert pending.SESSION_KEY not in client.session


def test_lowering_the_days_shortens_browsers_already_remembered(ada_2fa, frozen, settings):
    client = remembered_browser(ada_2fa)
    settings.TWOSTEP_REMEMBER_DAYS = 7
    frozen.shift(timedelta(days=6, hours=23))
    assert submit_password(client, ada_2fa.email)["Location"] != CODE
    client.post("/logout/")

    frozen.shift(timedelta(hours=2))  # 7 days and an hour: not recognised any more

    assert submit_password(client, ada_2fa.email)["Location"] == CODE


@pytest.mark.parametrize("days", ["-1", "401"])
def test_days_outside_0_to_400_are_refused_at_startup(days):
    started = start_django(TWOSTEP_REMEMBER_DAYS=days)

    assert started.returncode == 1
    assert "TWOSTEP_REMEMBER_DAYS must be from 0 to 400 days." in started.stderr


def remember_request(rf, user: User):
    request = rf.post(CODE, {"remember": "1"})
    request.user = user
    return request


def test_a_password_changed_since_the_login_loaded_the_account_leaves_nothing_remembered(
    ada_2fa, rf
):
    request = remember_request(rf, ada_2fa)
    elsewhere = User.objects.get(pk=ada_2fa.pk)  # the change commits in another request
    elsewhere.set_password("a brand new passphrase 42")
    elsewhere.save()
    response = HttpResponse()

    flow.remember_if_ticked(request=request, user=ada_2fa, method="app", response=response)

    assert not RememberedBrowser.objects.exists() and REMEMBER not in response.cookies


def test_a_method_added_since_the_login_loaded_the_account_leaves_nothing_remembered(ada_2fa, rf):
    request = remember_request(rf, ada_2fa)
    MfaState.objects.filter(user=ada_2fa).update(methods=2)  # a key added meanwhile
    response = HttpResponse()

    flow.remember_if_ticked(request=request, user=ada_2fa, method="app", response=response)

    assert not RememberedBrowser.objects.exists() and REMEMBER not in response.cookies


def test_with_nothing_changed_the_ticked_box_remembers(ada_2fa, rf):
    response = HttpResponse()

    flow.remember_if_ticked(
        request=remember_request(rf, ada_2fa), user=ada_2fa, method="app", response=response
    )

    assert RememberedBrowser.objects.count() == 1 and REMEMBER in response.cookies
