"""Every action issue 10 lists asks 'confirm it's you' once the window has closed, and
changes nothing: turning 2FA on and off, adding and removing a key (its JSON endpoints
answer JSON), new recovery codes, the password, the email, ending sessions; a support
agent's decisions, a manager's vouch answer and every admin POST. The person comes back
to the page the action belongs to (`next`)."""

from urllib.parse import urlencode

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.test import Client

from tests.authenticator import Authenticator, give_key
from tests.helpers import (
    PASSWORD,
    SITE,
    code_for,
    confirm_again,
    confirmed_session,
    enable_2fa,
    hashed,
    verified_session,
)
from tests.mfa.conftest import events
from tests.mfa.webauthn.conftest import JSON, RP_ID
from twostep.accounts.models import EmailChange, User, UserSession
from twostep.accounts.session_list import session_id
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mfa import factors
from twostep.mfa.models import LOCK_AFTER, MfaState, RecoveryCode, SecurityKey, TOTPDevice

WINDOW = 600
SESSIONS = "/settings/sessions/"
NEW_PASSWORD = "a brand new passphrase 42"


def confirm_url(next_url: str, purpose: str | None = None) -> str:
    """The address the gate sends to, written out by hand (not by the code under test)."""
    return f"/confirm/?{urlencode({'next': next_url, **({'for': purpose} if purpose else {})})}"


@pytest.fixture
def ada(user, frozen, settings):
    """Ada with the app and a security key, and a second session elsewhere."""
    settings.TWOSTEP_SITE_URL = SITE
    settings.TWOSTEP_WEBAUTHN_RP_ID = ""
    enable_2fa(user)
    give_key(user, Authenticator(origin=SITE, rp_id=RP_ID))
    verified_session(Client(), user)  # her laptop
    return user


@pytest.fixture
def late(client, ada, frozen):
    """Ada's session, logged in with her code 10 minutes and a second ago."""
    verified_session(client, ada)
    frozen.shift(WINDOW + 1)
    return client


def state_of(user: User) -> tuple:
    """What any of the gated actions would change."""
    user.refresh_from_db()
    return (
        user.password,
        user.email,
        MfaState.objects.get(user=user).methods,
        TOTPDevice.objects.filter(user=user).count(),
        SecurityKey.objects.filter(user=user).count(),
        RecoveryCode.objects.filter(user=user).count(),
        EmailChange.objects.count(),
        UserSession.objects.filter(user=user).count(),
        SecurityEvent.objects.count(),
        OutgoingEmail.objects.count(),
    )


KEY = "{key}"
OTHER_SESSION = "{other}"

# (method, path, form data, where the person comes back to: None for the path itself)
GATED = [
    ("post", "/settings/2fa/enable/", {}, "/settings/"),
    ("get", "/settings/2fa/disable/", {}, None),
    ("post", "/settings/2fa/disable/", {"confirm": "on"}, None),
    ("get", "/settings/2fa/keys/add/", {}, None),
    ("post", "/settings/2fa/keys/add/", {"name": "Phone", "credential": "{}"}, None),
    ("get", f"/settings/2fa/keys/{KEY}/remove/", {}, None),
    ("post", f"/settings/2fa/keys/{KEY}/remove/", {}, None),
    ("get", "/settings/2fa/recovery-codes/new/", {}, None),
    ("post", "/settings/2fa/recovery-codes/new/", {}, None),
    ("get", "/settings/password/", {}, None),
    (
        "post",
        "/settings/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        None,
    ),
    ("get", "/profile/email/", {}, None),
    ("post", "/profile/email/", {"new_email": "ada.new@example.com"}, None),
    ("post", "/settings/sessions/end/", {"session": OTHER_SESSION}, SESSIONS),
    ("post", "/settings/sessions/end-others/", {}, SESSIONS),
]


# Gated views that come back to another page name what they are for themselves.
PURPOSES = {"/settings/2fa/enable/": "mfa:enable"}


def _fill(text: str, ada: User, client: Client) -> str:
    """The path or value with Ada's key and her laptop's session filled in."""
    mine = client.session.session_key
    other = next(
        s.session_key for s in UserSession.objects.filter(user=ada) if s.session_key != mine
    )
    key = SecurityKey.objects.get(user=ada)
    return text.replace(KEY, str(key.pk)).replace(OTHER_SESSION, session_id(other))


@pytest.mark.parametrize(("method", "path", "data", "back_to"), GATED)
def test_each_gated_action_asks_to_confirm_and_changes_nothing(
    late, ada, method, path, data, back_to
):
    path = _fill(path, ada, late)
    data = {name: _fill(value, ada, late) for name, value in data.items()}
    before = state_of(ada)

    response = getattr(late, method)(path, data)

    assert response.status_code == 302
    assert response["Location"] == confirm_url(back_to or path, PURPOSES.get(path))
    assert state_of(ada) == before


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/settings/2fa/keys/add/options/", {"name": "Phone"}),
        ("/settings/2fa/keys/add/", {"name": "Phone", "credential": "{}"}),
    ],
)
def test_the_json_endpoints_answer_json_with_the_confirmation_link(late, ada, path, data):
    before = state_of(ada)
    response = late.post(path, data, **JSON)
    assert response.status_code == 403
    assert response.json() == {
        "error": (
            "Confirm it's you first. Taking you there… Then you will come back here to "
            "submit again."
        ),
        "redirect": confirm_url("/settings/2fa/keys/add/"),
    }
    assert state_of(ada) == before


# Within the window each goes ahead: (status, where it sends the person, whether it changed
# something). Ada already has 2FA, so "enable" only says so; the key's made-up answer is
# refused by the key's own checks, past the gate.
WITHIN = {
    ("post", "/settings/2fa/enable/"): (302, "/settings/", False),
    ("get", "/settings/2fa/disable/"): (200, None, False),
    ("post", "/settings/2fa/disable/"): (302, "/settings/", True),
    ("get", "/settings/2fa/keys/add/"): (200, None, False),
    ("post", "/settings/2fa/keys/add/"): (400, None, False),  # the key's own refusal
    ("get", f"/settings/2fa/keys/{KEY}/remove/"): (200, None, False),
    ("post", f"/settings/2fa/keys/{KEY}/remove/"): (302, "/settings/", True),
    ("get", "/settings/2fa/recovery-codes/new/"): (200, None, False),
    ("post", "/settings/2fa/recovery-codes/new/"): (200, None, True),
    ("get", "/settings/password/"): (200, None, False),
    ("post", "/settings/password/"): (302, "/settings/", True),
    ("get", "/profile/email/"): (200, None, False),
    ("post", "/profile/email/"): (302, "/profile/", True),
    ("post", "/settings/sessions/end/"): (302, SESSIONS, True),
    ("post", "/settings/sessions/end-others/"): (302, SESSIONS, True),
}


def test_every_gated_request_has_its_expected_outcome_within_the_window():
    assert set(WITHIN) == {(method, path) for method, path, _, _ in GATED}


@pytest.mark.parametrize(("method", "path", "data", "back_to"), GATED)
def test_within_the_window_the_same_requests_go_ahead(late, ada, method, path, data, back_to):
    status, location, changes = WITHIN[(method, path)]
    confirm_again(late)
    path = _fill(path, ada, late)
    data = {name: _fill(value, ada, late) for name, value in data.items()}
    before = state_of(ada)

    response = getattr(late, method)(path, data)

    assert response.status_code == status
    assert response.get("Location") == location
    assert (state_of(ada) != before) == changes


def test_the_app_set_up_page_asks_once_the_window_closes(client, make_user, frozen):
    grace = make_user("grace@example.com", "Grace Hopper")
    confirmed_session(client, grace)
    client.post("/settings/2fa/enable/")
    secret = factors.pending_device(grace).secret()
    frozen.shift(WINDOW + 1)
    response = client.post("/settings/2fa/setup/", {"code": code_for(secret)})
    assert response["Location"] == confirm_url("/settings/2fa/setup/")
    assert not factors.second_factor_on(grace)


def test_an_admin_post_asks_to_confirm_but_logging_out_does_not(user, make_user, frozen):
    enable_2fa(user)
    MfaState.objects.filter(user=user).update(failure_count=LOCK_AFTER)
    sam = make_user("sam@example.com", "Sam Support", is_staff=True)
    sam.user_permissions.add(*Permission.objects.filter(codename__endswith="_mfastate"))
    enable_2fa(sam)
    admin = verified_session(Client(), sam)
    frozen.shift(WINDOW + 1)
    state = MfaState.objects.get(user=user)
    clear = {"action": "clear_lock", ACTION_CHECKBOX_NAME: [state.pk], "index": 0}

    assert admin.get("/admin/mfa/mfastate/").status_code == 200  # reading needs nothing
    refused = admin.post("/admin/mfa/mfastate/", clear)
    assert refused["Location"] == confirm_url("/admin/mfa/mfastate/")
    assert MfaState.objects.get(user=user).failure_count == LOCK_AFTER
    assert not events(user, SecurityEvent.Type.MFA_UNLOCKED)

    confirm_again(admin)
    admin.post("/admin/mfa/mfastate/", clear)
    assert MfaState.objects.get(user=user).failure_count == 0

    frozen.shift(WINDOW + 1)
    assert not admin.post("/admin/logout/")["Location"].startswith("/confirm/")
    assert "_auth_user_id" not in admin.session


def test_the_password_change_keeps_no_password_while_confirming(late, ada):
    refused = late.post(
        "/settings/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert refused["Location"] == confirm_url("/settings/password/")
    # Error reports hide its fields though the gate answered before Django's own view.
    assert refused.wsgi_request.sensitive_post_parameters == "__ALL__"
    assert PASSWORD not in str(dict(late.session))
    assert NEW_PASSWORD not in str(dict(late.session))
    ada.refresh_from_db()
    assert ada.password == hashed(PASSWORD)
