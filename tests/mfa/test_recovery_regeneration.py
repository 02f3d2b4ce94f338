"""New recovery codes need a current proof (the app's code or a security key), never a
recovery code and never a GET alone; the first set comes only from the POST that turned
2FA on (through a one-time grant); accounts from before codes get "Generate recovery
codes" through the same proof."""

import re

import pytest
from django.urls import reverse

from tests.authenticator import Authenticator, give_key
from tests.helpers import SITE, code_for, give_recovery_codes, mfa_state, verified_session
from tests.mfa.conftest import emails, events, wrong_code
from tests.mfa.webauthn.conftest import register
from twostep.audit.models import SecurityEvent
from twostep.mfa.models import RecoveryCode
from twostep.mfa.session import FIRST_SET, NEW_SET, RECOVERY_CODES_GRANT, grant_recovery_codes

PAGE = reverse("mfa:recovery_codes")
NEW = reverse("mfa:recovery_codes_new")
KEY_OPTIONS = reverse("mfa:recovery_codes_new_key_options")
KEY_ANSWER = reverse("mfa:recovery_codes_new_key")
JSON = {"HTTP_ACCEPT": "application/json"}
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


def test_a_post_without_a_proof_makes_no_codes(owner, user):
    old = give_recovery_codes(user)
    response = owner.post(NEW, {})
    assert response.status_code == 200 and shown(response) == []
    assert response.context["form"].errors["code"]
    assert set(RecoveryCode.objects.filter(user=user).values_list("lookup", flat=True)) == {
        c[:4] for c in old
    }


def test_a_recovery_code_is_not_enough_to_mint_new_ones(owner, user):
    old = give_recovery_codes(user)
    response = owner.post(NEW, {"code": old[0]})
    assert shown(response) == []
    assert RecoveryCode.objects.filter(user=user, used_at__isnull=True).count() == 10
    assert len(events(user, SecurityEvent.Type.RECOVERY_CODES_GENERATED)) == 1  # the helper's


def test_a_wrong_app_code_is_counted_in_the_shared_throttle(owner, user):
    give_recovery_codes(user)
    response = owner.post(NEW, {"code": wrong_code()})
    assert shown(response) == []
    assert mfa_state(user).failure_count == 1
    [failed] = events(user, SecurityEvent.Type.CODE_FAILED)
    assert failed.details["purpose"] == "regenerate" and failed.details["method"] == "app"


def test_the_page_says_the_old_codes_stop_working_and_a_right_code_replaces_them(owner, user):
    old = give_recovery_codes(user)
    page = owner.get(NEW).content.decode()
    assert "Generate new recovery codes" in page
    assert "your old recovery codes stop working" in page
    assert "A recovery code cannot be used here." in page
    response = owner.post(NEW, {"code": code_for()})
    new = shown(response)
    assert len(new) == 10 and not set(new) & set(old)
    assert "Your old recovery codes no longer work" in response.content.decode()
    assert mfa_state(user).failure_count == 0


def test_the_first_codes_of_an_account_from_before_codes_replace_nothing(owner, user):
    settings_page = owner.get(reverse("accounts:settings")).content.decode()
    assert "Generate recovery codes" in settings_page
    page = owner.get(NEW).content.decode()
    assert "Generate recovery codes" in page and "stop working" not in page
    response = owner.post(NEW, {"code": code_for()})
    assert len(shown(response)) == 10
    assert "no longer work" not in response.content.decode()
    [generated] = events(user, SecurityEvent.Type.RECOVERY_CODES_GENERATED)
    assert generated.details["replaced"] == 0
    assert emails(user, "Your account now has recovery codes")


def test_the_grant_is_used_once_and_only_by_its_own_account(owner, user, make_user):
    session = owner.session
    grant_recovery_codes(session, user=make_user("eve@example.com"), kind=NEW_SET)
    session.save()
    assert shown(owner.get(PAGE)) == []  # another account's grant
    session = owner.session
    grant_recovery_codes(session, user=user, kind=FIRST_SET)
    session.save()
    assert len(shown(owner.get(PAGE))) == 10
    assert RECOVERY_CODES_GRANT not in owner.session
    assert shown(owner.get(PAGE)) == []


def test_the_grant_expires(owner, user, frozen):
    session = owner.session
    grant_recovery_codes(session, user=user, kind=FIRST_SET)
    session.save()
    frozen.shift(301)
    assert shown(owner.get(PAGE)) == []
    assert not RecoveryCode.objects.filter(user=user).exists()


# --- With a security key ----------------------------------------------------------------


@pytest.fixture
def key_owner(client, user, frozen, settings):
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""
    authenticator = Authenticator(origin=SITE, rp_id="twostep.example")
    give_key(user, authenticator)
    return verified_session(client, user), authenticator


def key_options(client) -> dict:
    response = client.post(KEY_OPTIONS, **JSON)
    assert response.status_code == 200, response.content
    return response.json()["publicKey"]


def test_a_security_key_proves_it_and_the_page_it_leads_to_shows_the_new_set(key_owner, user):
    client, authenticator = key_owner
    old = give_recovery_codes(user)
    page = client.get(NEW).content.decode()
    assert 'data-webauthn="key"' in page and 'name="code"' not in page  # no app: key only
    answer = authenticator.get(key_options(client))
    response = client.post(KEY_ANSWER, {"credential": answer}, **JSON)
    assert response.json() == {"redirect": PAGE}
    new = shown(client.get(PAGE))
    assert len(new) == 10 and not set(new) & set(old)
    assert shown(client.get(PAGE)) == []  # once


def test_another_key_is_refused_counted_and_grants_nothing(key_owner, user):
    client, _ = key_owner
    give_recovery_codes(user)
    stranger = Authenticator(origin=SITE, rp_id="twostep.example")
    response = client.post(KEY_ANSWER, {"credential": stranger.get(key_options(client))}, **JSON)
    assert response.status_code == 400
    assert RECOVERY_CODES_GRANT not in client.session
    assert mfa_state(user).failure_count == 1
    assert shown(client.get(PAGE)) == []


def test_a_key_form_sent_without_the_script_counts_nothing(key_owner, user):
    client, _ = key_owner
    response = client.post(KEY_ANSWER, {})
    assert response.status_code == 400
    assert mfa_state(user).failure_count == 0


def test_the_first_key_added_grants_the_first_set_to_its_own_post(client, user, frozen, settings):
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""
    client.force_login(user)
    assert shown(client.get(PAGE)) == []  # 2FA off: nothing, and no grant yet
    response = register(client, Authenticator(origin=SITE, rp_id="twostep.example"))
    assert response.json() == {"redirect": PAGE}
    assert len(shown(client.get(PAGE))) == 10
    assert shown(client.get(PAGE)) == []
