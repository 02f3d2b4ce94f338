"""Staff prove a factor at every login: granting staff in the admin forgets the account's
remembered browsers (recorded with the agent as actor), and a staff account lists and
recognises none (rows left from before are not usable)."""

import re

import pytest
from django.test import Client

from tests.helpers import (
    CODE,
    log_in,
    remembered_browser,
    submit_password,
    verified_session,
)
from twostep.accounts.models import RememberedBrowser, User
from twostep.audit.models import SecurityEvent

FORGOTTEN = SecurityEvent.Type.REMEMBERED_BROWSERS_FORGOTTEN


@pytest.fixture
def ada(ada_2fa: User) -> User:
    return ada_2fa


def change_form(admin: Client, user: User) -> dict[str, str | list[str]]:
    """The admin's change form of `user` as the page fills it in."""
    page = admin.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    data: dict[str, str | list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if name is None or (kind and kind.group(1) in ("submit", "button", "file")):
            continue
        if kind and kind.group(1) == "checkbox" and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data[name.group(1)] = value.group(1) if value else "on"
    data["full_name"] = user.full_name
    return data


def test_granting_staff_forgets_the_accounts_remembered_browsers(ada, sam, frozen):
    laptop = remembered_browser(ada)
    admin = verified_session(Client(), sam)
    data = change_form(admin, ada)
    data["is_staff"] = "on"

    response = admin.post(f"/admin/accounts/user/{ada.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    ada.refresh_from_db()
    assert ada.is_staff
    assert not RememberedBrowser.objects.filter(user=ada).exists()
    event = SecurityEvent.objects.get(type=FORGOTTEN, subject=ada)
    assert (event.actor, event.details["reason"], event.details["count"]) == (
        sam,
        "made staff",
        1,
    )
    assert submit_password(laptop)["Location"] == CODE


def test_saving_an_account_without_granting_staff_keeps_its_browsers(ada, sam, frozen):
    remembered_browser(ada)
    admin = verified_session(Client(), sam)
    data = change_form(admin, ada)
    data["full_name"] = "Ada King"

    response = admin.post(f"/admin/accounts/user/{ada.pk}/change/", data)

    assert response.status_code == 302
    assert RememberedBrowser.objects.filter(user=ada).count() == 1
    assert not SecurityEvent.objects.filter(type=FORGOTTEN).exists()


def test_a_staff_account_lists_no_remembered_browsers(ada, frozen):
    laptop = remembered_browser(ada)
    User.objects.filter(pk=ada.pk).update(is_staff=True)  # made staff some other way
    ada.refresh_from_db()
    frozen.shift(30)  # the next code
    client = Client()
    log_in(client, ada)

    page = client.get("/settings/sessions/")

    assert page.context["remembered"] == []
    assert 'data-testid="remembered"' not in page.content.decode()
    assert submit_password(laptop)["Location"] == CODE
