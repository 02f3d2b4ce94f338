"""Each answer is judged once: a replayed answer is refused like a reused code, and of the
same answer sent by several requests at once exactly one is accepted (each request in its
own thread and database connection, as app processes would)."""

from importlib import import_module

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from tests.authenticator import Authenticator, give_key
from tests.concurrency import at_once
from tests.helpers import SITE, submit_password
from tests.mfa.conftest import events
from tests.mfa.webauthn.conftest import RP_ID, key_answer, passkey_answer, send_key, send_passkey
from twostep.audit.models import SecurityEvent
from twostep.mfa.checks import Reason
from twostep.mfa.webauthn import assertions

RACERS = 6


def twins(client: Client, n: int) -> list[Client]:
    """`n` browsers holding `client`'s session cookie (one session, n requests)."""
    copies = []
    for _ in range(n):
        twin = Client()
        twin.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[
            settings.SESSION_COOKIE_NAME
        ].value
        copies.append(twin)
    return copies


def request_in(session_key: str):
    request = RequestFactory().post("/login/key/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return request


@pytest.mark.django_db
def test_a_replayed_answer_is_refused_like_a_reused_code(client, user, frozen):
    authenticator = Authenticator(origin=SITE, rp_id=RP_ID)
    give_key(user, authenticator)
    submit_password(client)
    answer = key_answer(client, authenticator)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value

    first = assertions.check_key(request=request_in(session_key), user=user, credential=answer)
    again = assertions.check_key(request=request_in(session_key), user=user, credential=answer)

    assert first.accepted and not again.accepted
    assert again.reason == Reason.REUSED and "already used" in again.message
    [reuse] = events(user, SecurityEvent.Type.CODE_REUSE)
    assert reuse.details == {"purpose": "login", "method": "key", "key": "YubiKey"}
    assert not events(user, SecurityEvent.Type.KEY_REFUSED)  # not counted as a wrong one


@pytest.mark.django_db(transaction=True)
def test_one_second_step_answer_sent_at_once_logs_in_exactly_once(client, user, frozen):
    authenticator = Authenticator(origin=SITE, rp_id=RP_ID)
    give_key(user, authenticator)
    submit_password(client)
    answer = key_answer(client, authenticator)

    outcome = at_once(*[lambda c=c: send_key(c, answer) for c in twins(client, RACERS)])

    assert outcome.errors == []
    statuses = sorted(r.status_code for r in outcome.results)
    assert statuses == [200] + [400] * (RACERS - 1)
    assert len(events(user, SecurityEvent.Type.LOGIN)) == 1


@pytest.mark.django_db(transaction=True)
def test_one_passkey_answer_sent_at_once_logs_in_exactly_once(client, user, frozen):
    passkey = Authenticator(origin=SITE, rp_id=RP_ID, counter_step=0)
    give_key(user, passkey)
    answer = passkey_answer(client, passkey)

    outcome = at_once(*[lambda c=c: send_passkey(c, answer) for c in twins(client, RACERS)])

    assert outcome.errors == []
    statuses = sorted(r.status_code for r in outcome.results)
    assert statuses == [200] + [400] * (RACERS - 1)
    assert len(events(user, SecurityEvent.Type.LOGIN)) == 1
