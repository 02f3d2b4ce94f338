"""Settings: each key listed with its rename and remove links; renaming and removing,
recorded and mailed; the last method only through the disable confirmation."""

import pytest

from tests.authenticator import Authenticator, give_key
from tests.helpers import SITE, confirmed_session, enable_2fa, verified_session
from tests.mfa.conftest import emails, events
from tests.mfa.webauthn.conftest import RP_ID
from twostep.audit.models import SecurityEvent
from twostep.mfa.models import MfaState, SecurityKey


@pytest.fixture
def logged_in(client, user, key):
    confirmed_session(client, user)
    return client


def test_settings_lists_each_key_with_its_links(logged_in, key):
    page = logged_in.get("/settings/").content.decode()

    assert "YubiKey" in page and "not used yet" in page
    assert f'href="/settings/2fa/keys/{key.pk}/rename/"' in page
    assert f'href="/settings/2fa/keys/{key.pk}/remove/"' in page
    assert 'href="/settings/2fa/keys/add/"' in page


def test_renaming_a_key_is_recorded_and_mailed(logged_in, user, key):
    assert logged_in.get(f"/settings/2fa/keys/{key.pk}/rename/").status_code == 200

    response = logged_in.post(f"/settings/2fa/keys/{key.pk}/rename/", {"name": "Blue key"})

    assert response["Location"] == "/settings/"
    key.refresh_from_db()
    assert key.name == "Blue key"
    [event] = events(user, SecurityEvent.Type.KEY_RENAMED)
    assert event.details == {"key_id": key.pk, "old_name": "YubiKey", "key": "Blue key"}
    assert emails(user, "A security key on your account was renamed")


def test_removing_a_key_is_recorded_and_mailed(logged_in, user, key):
    enable_2fa(user)  # the app too, so the key is not the last method
    give_key(user, Authenticator(origin=SITE, rp_id=RP_ID), "Spare")

    assert (
        "Remove the key" in logged_in.get(f"/settings/2fa/keys/{key.pk}/remove/").content.decode()
    )
    response = logged_in.post(f"/settings/2fa/keys/{key.pk}/remove/")

    assert response["Location"] == "/settings/"
    assert list(SecurityKey.objects.values_list("name", flat=True)) == ["Spare"]
    assert MfaState.objects.get(user=user).methods == 2
    [event] = events(user, SecurityEvent.Type.KEY_REMOVED)
    assert event.details == {"key_id": key.pk, "key": "YubiKey"}
    assert emails(user, "A security key was removed from your account")


def test_the_last_method_goes_through_the_disable_confirmation(logged_in, user, key):
    page = logged_in.get(f"/settings/2fa/keys/{key.pk}/remove/").content.decode()
    assert "last way to log in" in page and 'href="/settings/2fa/disable/"' in page

    response = logged_in.post(f"/settings/2fa/keys/{key.pk}/remove/")

    assert response["Location"] == "/settings/2fa/disable/"
    assert SecurityKey.objects.filter(pk=key.pk).exists()
    assert MfaState.objects.get(user=user).methods == 1
    assert not events(user, SecurityEvent.Type.KEY_REMOVED)


def test_another_accounts_key_cannot_be_renamed_or_removed(client, key, make_user):
    grace = make_user("grace@example.com", "Grace Hopper")
    client.force_login(grace)

    for action in ("rename", "remove"):
        response = client.post(f"/settings/2fa/keys/{key.pk}/{action}/", {"name": "Mine"})
        assert response["Location"] == "/settings/"
    key.refresh_from_db()
    assert key.name == "YubiKey"


def test_the_admin_lists_keys_read_only(client, make_user, key, frozen):
    sam = make_user("sam@example.com", "Sam Support", is_staff=True, is_superuser=True)
    enable_2fa(sam)
    verified_session(client, sam)

    listing = client.get("/admin/mfa/securitykey/")
    page = client.get(f"/admin/mfa/securitykey/{key.pk}/change/").content.decode()

    assert listing.status_code == 200 and "YubiKey" in listing.content.decode()
    assert "YubiKey" in page and 'name="_save"' not in page
    assert client.get("/admin/mfa/securitykey/add/").status_code == 403
    assert client.post(f"/admin/mfa/securitykey/{key.pk}/delete/").status_code == 403
    assert SecurityKey.objects.filter(pk=key.pk).exists()
