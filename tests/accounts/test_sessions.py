"""The session engine loads the session, its user and their authenticator in one SELECT,
with both sides of the user-authenticator relation in place."""

from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.helpers import enable_2fa
from twostep.accounts.session_engine import SessionStore


def loaded_user_of(user):
    store = SessionStore()
    store.update({SESSION_KEY: str(user.pk)})
    store.create()
    loaded = SessionStore(store.session_key)
    loaded.load()
    return loaded.loaded_user


def test_a_loaded_sessions_authenticator_leads_back_to_its_user_without_a_query(user):
    enable_2fa(user)
    loaded = loaded_user_of(user)

    with CaptureQueriesContext(connection) as queries:
        device = loaded.totp_device
        assert device.user is loaded  # as the code judge reaches the account from the device

    assert len(queries) == 0, [q["sql"] for q in queries]


def test_a_loaded_session_of_a_user_without_an_authenticator_knows_it_without_a_query(user):
    loaded = loaded_user_of(user)

    with CaptureQueriesContext(connection) as queries:
        assert not hasattr(loaded, "totp_device")

    assert len(queries) == 0
