"""The email on a login from a browser the account has not used before, and its "This
wasn't me" link: every session signed out, the device cookies forgotten, then the reset."""

import re

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from tests.helpers import code_for, log_in, submit_code, submit_password
from twostep.accounts import devices
from twostep.accounts.models import LoginThrottle, UserSession
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
EDGE = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
SUBJECT = "New login to your account"
NOT_ME = re.compile(r"https?://\S+(/not-me/[^/\s]+/)")


@pytest.fixture(autouse=True)
def site(settings):
    settings.TWOSTEP_SITE_URL = "http://testserver"


def notices():
    return list(OutgoingEmail.objects.filter(subject=SUBJECT).order_by("id"))


def browser(agent: str, ip: str) -> Client:
    return Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)


def test_the_first_login_of_an_account_is_not_announced(user):
    log_in(browser(FIREFOX, "192.0.2.1"), user)

    assert notices() == []


def test_a_login_from_a_new_browser_is_emailed_with_time_ip_browser_and_a_link(user, frozen):
    log_in(browser(FIREFOX, "192.0.2.1"), user)

    log_in(browser(EDGE, "203.0.113.50"), user)

    (notice,) = notices()
    assert notice.to == user.email
    assert "203.0.113.50" in notice.body and "Edge on Windows" in notice.body
    assert "2026" in notice.body or str(frozen) in notice.body
    assert NOT_ME.search(notice.body)


def test_the_same_browser_again_is_not_announced(user):
    here = browser(FIREFOX, "192.0.2.1")
    log_in(here, user)
    here.post("/logout/")
    log_in(browser(EDGE, "203.0.113.50"), user)  # logged in elsewhere meanwhile

    log_in(here, user)  # its device cookie is trusted for the account

    assert len(notices()) == 1


def test_a_browser_with_a_live_session_from_the_same_address_is_not_new(user):
    log_in(browser(FIREFOX, "192.0.2.1"), user)

    log_in(browser(FIREFOX, "192.0.2.1"), user)  # same browser and address, its session live

    assert notices() == []


def test_with_2fa_the_notice_goes_once_the_code_is_accepted(device, frozen):
    log_in(browser(FIREFOX, "192.0.2.1"), device.user)
    frozen.shift(30)  # the next time step: each code works once
    other = browser(EDGE, "203.0.113.50")
    submit_password(other, device.user.email)
    assert notices() == []  # the password alone logs nobody in

    submit_code(other, code_for())

    assert len(notices()) == 1


def not_me_path() -> str:
    return NOT_ME.search(notices()[-1].body).group(1)


def test_this_wasnt_me_signs_out_everywhere_forgets_devices_and_leads_to_the_reset(user):
    first = browser(FIREFOX, "192.0.2.1")
    log_in(first, user)
    intruder = browser(EDGE, "203.0.113.50")
    log_in(intruder, user)
    path = not_me_path()

    page = Client().get(path)
    assert page.status_code == 200 and b"Sign out everywhere" in page.content
    assert UserSession.objects.filter(user=user).count() == 2  # opening the link did nothing

    response = Client().post(path)

    assert response["Location"] == "/password-reset/"
    assert not UserSession.objects.filter(user=user).exists()
    assert not LoginThrottle.objects.filter(key__startswith=f"device:{user.pk}:").exists()
    assert intruder.get("/profile/").status_code == 302
    assert SecurityEvent.objects.filter(type="signed_out_everywhere").count() == 1


def test_this_wasnt_me_used_twice_says_so_and_changes_nothing(user):
    log_in(browser(FIREFOX, "192.0.2.1"), user)
    log_in(browser(EDGE, "203.0.113.50"), user)
    path = not_me_path()
    Client().post(path)
    log_in(browser(FIREFOX, "192.0.2.1"), user)

    again = Client().post(path)

    assert again.status_code == 400 and b"already used" in again.content
    assert UserSession.objects.filter(user=user).count() == 1
    assert SecurityEvent.objects.filter(type="signed_out_everywhere").count() == 1


@pytest.mark.parametrize("token", ["x", "eyJ1IjoxfQ:forged:sig", "a" * 500])
def test_a_forged_this_wasnt_me_link_changes_nothing(user, token):
    here = browser(FIREFOX, "192.0.2.1")
    log_in(here, user)

    assert Client().post(f"/not-me/{token}/").status_code == 400
    assert Client().get(f"/not-me/{token}/").status_code == 400
    assert here.get("/profile/").status_code == 200


def code_step_statements(user, frozen, **browser_headers) -> int:
    """The statements of a 2FA login's code step from a fresh browser."""
    client = Client(**browser_headers)
    submit_password(client, user.email)
    with CaptureQueriesContext(connection) as queries:
        response = submit_code(client, code_for())
    assert response.status_code == 302 and client.session.get("_auth_user_id")
    frozen.shift(30)  # the next login's code is a new one
    return len(queries)


def test_the_code_step_costs_no_statement_for_the_judgement(device, frozen):
    """Judged at the password step: a first login, a known browser and a new one cost the
    code step the same statements, but for the new one's queued email."""
    first = code_step_statements(device.user, frozen, HTTP_USER_AGENT=FIREFOX)
    known = code_step_statements(device.user, frozen, HTTP_USER_AGENT=FIREFOX)
    new = code_step_statements(device.user, frozen, HTTP_USER_AGENT=EDGE)

    assert first == known and new == known + 1
    assert len(notices()) == 1


def test_a_login_with_no_password_step_is_judged_when_it_completes(user, rf):
    log_in(browser(FIREFOX, "192.0.2.1"), user)
    user.refresh_from_db()
    request = rf.get("/", HTTP_USER_AGENT=EDGE, REMOTE_ADDR="203.0.113.50")
    request.session = SessionStore()

    assert devices.new_to_account(request=request, user=user) is True
    request.META["HTTP_USER_AGENT"], request.META["REMOTE_ADDR"] = FIREFOX, "192.0.2.1"
    assert devices.new_to_account(request=request, user=user) is False


def test_a_judgement_older_than_the_pending_login_is_made_again(device, frozen):
    log_in(browser(FIREFOX, "192.0.2.1"), device.user)
    frozen.shift(30)
    other = browser(EDGE, "203.0.113.50")
    submit_password(other, device.user.email)  # judged new here
    frozen.shift(30)
    log_in(browser(EDGE, "203.0.113.50"), device.user)  # now a session from there exists
    frozen.shift(301)  # and the first cookie's judgement is past

    assert devices.new_to_account(request=request_of(other), user=device.user) is False


def request_of(client: Client):
    request = RequestFactory().get("/", HTTP_USER_AGENT=EDGE, REMOTE_ADDR="203.0.113.50")
    request.COOKIES.update({k: v.value for k, v in client.cookies.items()})
    return request
