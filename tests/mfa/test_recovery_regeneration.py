"""New recovery codes need a recent "confirm it's you" (which never takes a recovery code:
tests/login/test_confirm.py) and a POST, never a GET alone; the first set comes only from
the POST that turned 2FA on (through a one-time grant); accounts from before codes get
"Generate recovery codes" the same way."""

import re

import pytest
from django.urls import reverse

from tests.authenticator import Authenticator
from tests.helpers import SITE, confirmed_session, give_recovery_codes, mfa_state, verified_session
from tests.mfa.conftest import emails, events
from tests.mfa.webauthn.conftest import register
from twostep.audit.models import SecurityEvent
from twostep.mfa.models import RecoveryCode
from twostep.mfa.session import RECOVERY_CODES_GRANT, grant_first_recovery_codes

PAGE = reverse("mfa:recovery_codes")
NEW = reverse("mfa:recovery_codes_new")
CODE = re.compile(r"<code>([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4})</code>")


@pytest.fixture
def owner(client, user, device):
    return verified_session(client, user)


def shown(response) -> list[str]:
    return CODE.findall(response.content.decode())


def test_a_get_alone_never_issues_codes_for_an_account_without_them(owner, user):
    page = owner.get(PAGE)
    assert shown(page) == []
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert "You have no recovery codes yet." in page.content.decode()
    assert not events(user, SecurityEvent.Type.RECOVERY_CODES_GENERATED)


def test_without_a_recent_confirmation_the_page_asks_for_one_and_a_post_makes_no_codes(
    owner, user, frozen
):
    old = give_recovery_codes(user)
    frozen.shift(601)  # the login's confirmation has run out
    page = owner.get(NEW)
    assert page.status_code == 302 and page["Location"].startswith(reverse("login:confirm"))
    response = owner.post(NEW, {})
    assert response.status_code == 302 and shown(response) == []
    assert set(RecoveryCode.objects.filter(user=user).values_list("lookup", flat=True)) == {
        c[:4] for c in old
    }


def test_the_page_says_the_old_codes_stop_working_and_its_button_replaces_them(owner, user):
    old = give_recovery_codes(user)
    page = owner.get(NEW).content.decode()
    assert "Generate new recovery codes" in page
    assert "your old recovery codes stop working" in page
    assert 'name="code"' not in page  # confirming it's them was the proof
    response = owner.post(NEW, {})
    new = shown(response)
    assert len(new) == 10 and not set(new) & set(old)
    assert "Your old recovery codes no longer work" in response.content.decode()
    assert mfa_state(user).failure_count == 0


def test_the_first_codes_of_an_account_from_before_codes_replace_nothing(owner, user):
    settings_page = owner.get(reverse("accounts:settings")).content.decode()
    assert "Generate recovery codes" in settings_page
    page = owner.get(NEW).content.decode()
    assert "Generate recovery codes" in page and "stop working" not in page
    response = owner.post(NEW, {})
    assert len(shown(response)) == 10
    assert "no longer work" not in response.content.decode()
    [generated] = events(user, SecurityEvent.Type.RECOVERY_CODES_GENERATED)
    assert generated.details["replaced"] == 0
    assert emails(user, "Your account now has recovery codes")


def test_the_grant_is_used_once_and_only_by_its_own_account(owner, user, make_user):
    session = owner.session
    grant_first_recovery_codes(session, user=make_user("eve@example.com"))
    session.save()
    assert shown(owner.get(PAGE)) == []  # another account's grant
    session = owner.session
    grant_first_recovery_codes(session, user=user)
    session.save()
    assert len(shown(owner.get(PAGE))) == 10
    assert RECOVERY_CODES_GRANT not in owner.session
    assert shown(owner.get(PAGE)) == []


def test_the_grant_expires(owner, user, frozen):
    session = owner.session
    grant_first_recovery_codes(session, user=user)
    session.save()
    frozen.shift(301)
    assert shown(owner.get(PAGE)) == []
    assert not RecoveryCode.objects.filter(user=user).exists()


def test_the_first_key_added_grants_the_first_set_to_its_own_post(client, user, frozen, settings):
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""
    confirmed_session(client, user)
    assert shown(client.get(PAGE)) == []  # 2FA off: nothing, and no grant yet
    response = register(client, Authenticator(origin=SITE, rp_id="twostep.example"))
    assert response.json() == {"redirect": PAGE}
    assert len(shown(client.get(PAGE))) == 10
    assert shown(client.get(PAGE)) == []
