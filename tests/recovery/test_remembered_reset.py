"""A support reset forgets the account's remembered browsers (in the reset's transaction,
with no actor: the worker carries it out); a login from a remembered browser does not
cancel a pending reset, since it proves no factor."""

import pytest
from django.test import Client

from tests.helpers import CODE, remembered_browser, submit_password
from twostep.accounts.models import RememberedBrowser, User
from twostep.audit.models import SecurityEvent
from twostep.recovery import resets
from twostep.recovery.models import RecoveryCase

FORGOTTEN = SecurityEvent.Type.REMEMBERED_BROWSERS_FORGOTTEN


@pytest.fixture
def laptop(ada: User, frozen) -> Client:
    """Ada's browser, remembered before she lost her phone (before the case), logged out."""
    client = remembered_browser(ada)
    frozen.shift(60)
    return client


def test_a_support_reset_forgets_every_remembered_browser(ada, laptop, approved_case, frozen):
    frozen.move_to(approved_case.reset_due_at)

    assert resets.perform_due_resets() == 1

    assert not RememberedBrowser.objects.filter(user=ada).exists()
    event = SecurityEvent.objects.get(type=FORGOTTEN, subject=ada)
    assert event.actor is None and event.details["reason"] == "support reset"
    submit_password(laptop)  # 2FA is off now: the password alone, as for everyone
    assert laptop.session.get("_auth_user_id") == str(ada.pk)


def test_a_remembered_login_does_not_cancel_a_pending_reset(ada, laptop, approved_case):
    response = submit_password(laptop)

    assert response["Location"] != CODE
    approved_case.refresh_from_db()
    assert approved_case.status == RecoveryCase.Status.APPROVED
