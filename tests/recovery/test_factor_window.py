"""Only a second factor vouches or stops a reset: the vouch page wants a session whose
window a factor opened (a password alone, with 2FA off at the time, is not enough), and
proving the app on "confirm it's you" cancels a pending support reset as a login with it
does."""

from urllib.parse import urlencode

import pytest
from django.test import Client

from tests.helpers import PASSWORD, SECRET, add_membership, code_for, enable_2fa, log_in
from tests.recovery.conftest import ORGANIZATION, Type, act, case_events
from twostep.accounts.models import User
from twostep.recovery import resets
from twostep.recovery.models import RecoveryCase, Vouch


def confirm_with(client: Client, next_url: str, method: str, **fields):
    query = urlencode({"method": method, "next": next_url})
    return client.post(f"/confirm/?{query}", {"password": PASSWORD, **fields})


@pytest.fixture
def dora_asked(agent, make_user, verified_case, frozen) -> tuple[User, str]:
    """A manager without 2FA (for now), asked to vouch; the link to the question."""
    dora = make_user("dora@example.com", full_name="Dora Manager")
    add_membership(dora, ORGANIZATION, role="manager")
    act(agent, verified_case, "vouch", membership=str(dora.memberships.get().pk))
    return dora, f"/vouch/{Vouch.objects.get().pk}/"


def test_a_window_the_password_opened_before_2fa_was_on_does_not_vouch(dora_asked):
    dora, link = dora_asked
    manager = Client()
    log_in(manager, dora)  # 2FA off: the password alone opens the window
    enable_2fa(dora)  # then she turns it on, within that window

    response = manager.get(link)

    assert response.status_code == 302
    assert response["Location"] == f"/confirm/?{urlencode({'next': link})}"
    manager.post(link, {"answer": "confirm"})
    assert Vouch.objects.get().answer == Vouch.Answer.PENDING

    confirmed = confirm_with(manager, link, "app", code=code_for(SECRET))

    assert confirmed["Location"] == link
    assert manager.get(link).status_code == 200


def test_confirming_with_the_password_alone_does_not_vouch(dora_asked, frozen):
    dora, link = dora_asked
    manager = Client()
    log_in(manager, dora)
    frozen.shift(601)  # the login's window closed
    assert confirm_with(manager, "/settings/", "password")["Location"] == "/settings/"
    enable_2fa(dora)

    assert manager.get(link)["Location"].startswith("/confirm/")


def test_confirming_with_the_app_cancels_a_pending_reset(ada, approved_case, frozen):
    owner = Client()
    owner.force_login(ada)  # as a remembered browser's login: no factor proved
    approved_case.refresh_from_db()
    assert approved_case.status == RecoveryCase.Status.APPROVED

    confirm_with(owner, "/settings/", "app", code=code_for(SECRET))

    approved_case.refresh_from_db()
    assert approved_case.status == RecoveryCase.Status.CANCELLED
    (event,) = case_events(approved_case, Type.CASE_CANCELLED)
    assert (event.actor, event.details["reason"]) == (ada, "the owner confirmed it's them with 2FA")
    frozen.move_to(approved_case.reset_due_at)
    assert resets.perform_due_resets() == 0


def test_a_wrong_code_on_the_confirmation_page_leaves_the_reset_pending(ada, approved_case, frozen):
    owner = Client()
    owner.force_login(ada)

    confirm_with(owner, "/settings/", "app", code="000000")

    approved_case.refresh_from_db()
    assert approved_case.status == RecoveryCase.Status.APPROVED
