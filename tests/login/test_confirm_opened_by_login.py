"""Which logins open the 'confirm it's you' window: any that proved a second factor, a
recovery code too (the person who lost their phone must be able to replace it or turn 2FA
off), and a passwordless passkey (two factors in one, with user verification)."""

import pytest

from tests.authenticator import Authenticator, give_key
from tests.helpers import SITE, give_recovery_codes, submit_password
from tests.mfa.webauthn.conftest import RP_ID, passkey_answer, send_passkey
from twostep.accounts.confirmation import confirmed_at
from twostep.mfa.models import TOTPDevice

DISABLE = "/settings/2fa/disable/"


def test_a_recovery_code_login_opens_the_window(client, ada_2fa, frozen):
    codes = give_recovery_codes(ada_2fa)
    assert submit_password(client)["Location"] == "/login/code/"

    response = client.post("/login/code/?method=recovery", {"recovery_code": codes[0]})

    assert response.status_code == 302
    assert confirmed_at(client.session) is not None
    assert client.get(DISABLE).status_code == 200  # not sent to /confirm/
    client.post(DISABLE, {"confirm": "on"})
    assert not TOTPDevice.objects.filter(user=ada_2fa).exists()


@pytest.fixture
def passkey(user, frozen, settings) -> Authenticator:
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""
    authenticator = Authenticator(origin=SITE, rp_id=RP_ID, counter_step=0, backup=True)
    give_key(user, authenticator, "Phone")
    return authenticator


def test_a_passwordless_passkey_login_opens_the_window(client, user, passkey):
    response = send_passkey(client, passkey_answer(client, passkey), next="/settings/")

    assert response.status_code == 200
    assert confirmed_at(client.session) is not None
    assert client.get(DISABLE).status_code == 200
