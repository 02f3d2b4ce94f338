"""A form posted after the window closed waits in the session: only until
TWOSTEP_REAUTH_SECONDS have passed, and it comes back only once the person has confirmed
(an abandoned confirmation leaves no pre-filled decision one click from being sent). A key
being added keeps its name, through the script's JSON refusal too."""

import pytest
from django.urls import reverse

from tests.authenticator import Authenticator, give_key
from tests.helpers import SITE, confirm_again, verified_session
from tests.mfa.webauthn.conftest import JSON, RP_ID
from twostep.accounts.confirmation import STASH

EMAIL = reverse("accounts:email_change")
KEY_ADD = reverse("mfa:key_add")
WINDOW = 600


@pytest.fixture
def late(client, ada_2fa, frozen):
    verified_session(client, ada_2fa)
    frozen.shift(WINDOW + 1)
    return client


def initial_email(client) -> str | None:
    return client.get(EMAIL).context["form"].initial.get("new_email")


def test_an_abandoned_confirmation_leaves_nothing_filled_later(late, frozen):
    late.post(EMAIL, {"new_email": "ada.new@example.com"})
    frozen.shift(WINDOW)  # gone to lunch; confirms for something else afterwards
    confirm_again(late)
    assert initial_email(late) is None
    assert STASH not in late.session


def test_the_kept_form_is_given_back_just_before_it_expires(late, frozen):
    late.post(EMAIL, {"new_email": "ada.new@example.com"})
    frozen.shift(WINDOW - 2)
    confirm_again(late)
    assert initial_email(late) == "ada.new@example.com"


@pytest.fixture
def keyed(ada_2fa, settings):
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""
    give_key(ada_2fa, Authenticator(origin=SITE, rp_id=RP_ID))
    return ada_2fa


@pytest.mark.parametrize("headers", [{}, JSON])
def test_a_key_being_added_keeps_its_name_while_confirming(late, keyed, headers):
    late.post(reverse("mfa:key_add_options"), {"name": "Work laptop"}, **headers)
    confirm_again(late)
    page = late.get(KEY_ADD)
    assert page.context["form"].initial == {"name": "Work laptop"}
    assert 'value="Work laptop"' in page.content.decode()


def test_the_scripts_refusal_says_the_person_comes_back_to_submit_again(late, keyed):
    refused = late.post(reverse("mfa:key_add_options"), {"name": "Work laptop"}, **JSON)
    assert refused.status_code == 403
    assert "Then you will come back here to submit again." in refused.json()["error"]
