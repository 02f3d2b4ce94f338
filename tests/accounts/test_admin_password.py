"""A password set through the Django admin does what the site's own change does, in the
same transaction: audited with the agent as actor, mailed, and the account's remembered
browsers, trusted devices and sessions forgotten (services.record_password_change)."""

import pytest
from django.test import Client

from tests.helpers import (
    CODE,
    log_in,
    remembered_browser,
    submit_password,
    verified_session,
)
from twostep.accounts.models import RememberedBrowser, User, UserSession
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail

NEW = "a brand new passphrase 42"
Type = SecurityEvent.Type


@pytest.fixture
def ada(ada_2fa: User) -> User:
    return ada_2fa


def set_password(admin: Client, user: User, first: str = NEW, second: str = NEW):
    return admin.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"usable_password": "true", "password1": first, "password2": second},
    )


def test_an_admin_password_change_forgets_browsers_devices_and_sessions(ada, sam, frozen):
    laptop = remembered_browser(ada)
    elsewhere = Client()
    log_in(elsewhere, ada, steps=1)
    admin = verified_session(Client(), sam)
    OutgoingEmail.objects.all().delete()

    response = set_password(admin, ada)

    assert response.status_code == 302, response.content
    assert not RememberedBrowser.objects.filter(user=ada).exists()
    forgotten = SecurityEvent.objects.get(type=Type.REMEMBERED_BROWSERS_FORGOTTEN)
    assert forgotten.details["reason"] == "password set in the admin"
    assert forgotten.actor == sam  # the agent who set it, not the owner
    event = SecurityEvent.objects.get(type=Type.PASSWORD_SET_IN_ADMIN, subject=ada)
    assert event.actor == sam
    assert not UserSession.objects.filter(user=ada).exists()
    assert OutgoingEmail.objects.filter(to=ada.email).count() == 1
    assert submit_password(laptop, ada.email, NEW)["Location"] == CODE


def test_a_refused_admin_password_change_forgets_nothing(ada, sam):
    remembered_browser(ada)
    admin = verified_session(Client(), sam)

    response = set_password(admin, ada, second="something else entirely 7")

    assert response.status_code == 200
    assert RememberedBrowser.objects.filter(user=ada).count() == 1
    assert not SecurityEvent.objects.filter(type=Type.PASSWORD_SET_IN_ADMIN).exists()


def test_an_agents_own_password_change_in_the_admin_keeps_their_session(sam):
    admin = verified_session(Client(), sam)

    response = set_password(admin, sam)

    assert response.status_code == 302
    event = SecurityEvent.objects.get(type=Type.PASSWORD_SET_IN_ADMIN, subject=sam)
    assert event.actor == sam
    assert admin.get("/admin/").status_code == 200
