""" "Don't ask for a code on this browser": the tick box on the second step, the cookie it
leaves, and the password step that skips the code for that browser and account only."""

from datetime import timedelta

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from tests.helpers import (
    CODE,
    code_for,
    create_user,
    enable_2fa,
    give_recovery_codes,
    log_in,
    remembered_browser,
    submit_code,
    submit_password,
)
from twostep.accounts import remembered
from twostep.accounts.models import RememberedBrowser
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail

REMEMBER = "twostep_remember_token"
NEW_LOGIN = "New login to your account"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
Type = SecurityEvent.Type


def logged_in(client: Client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


def test_the_second_step_offers_the_tick_box_with_the_days_from_the_setting(
    pending_client, settings
):
    settings.TWOSTEP_REMEMBER_DAYS = 14

    page = pending_client.get(CODE).content.decode()

    assert 'name="remember"' in page
    assert "Don't ask for a code on this browser for 14 days" in page


def test_the_tick_box_is_offered_with_the_app_not_with_a_recovery_code(pending_client, user):
    give_recovery_codes(user)
    assert 'name="remember"' in pending_client.get(f"{CODE}?method=app").content.decode()
    page = pending_client.get(f"{CODE}?method=recovery").content.decode()
    assert 'name="remember"' not in page


def test_setting_zero_hides_the_tick_box_and_ignores_a_posted_one(pending_client, settings):
    settings.TWOSTEP_REMEMBER_DAYS = 0
    assert 'name="remember"' not in pending_client.get(CODE).content.decode()

    response = submit_code(pending_client, code_for(), remember=True)

    assert response.status_code == 302 and REMEMBER not in response.cookies
    assert not RememberedBrowser.objects.exists()


def test_ticked_box_remembers_the_browser_with_a_hashed_token_and_a_label(ada_2fa, frozen):
    client = Client(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="192.0.2.10")
    submit_password(client)
    response = submit_code(client, code_for(), remember=True)

    token = response.cookies[REMEMBER].value
    row = RememberedBrowser.objects.get(user=ada_2fa)
    assert len(token) >= 43  # 256 bits, base64
    assert row.token_hash != token and token not in row.token_hash
    assert (row.label, row.ip) == ("Firefox on Linux", "192.0.2.10")
    assert row.expires_at - row.created_at == timedelta(days=30)
    event = SecurityEvent.objects.get(type=Type.BROWSER_REMEMBERED)
    assert token not in str(event.details)


def test_the_cookie_is_httponly_lax_on_root_for_the_configured_days(ada_2fa):
    client = Client()
    submit_password(client)
    cookie = submit_code(client, code_for(), remember=True).cookies[REMEMBER]

    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert cookie["max-age"] == 30 * 86400
    assert not cookie["secure"]  # plain HTTP (development): no Secure, no __Host- name


def test_over_https_the_cookie_is_host_prefixed_and_secure(ada_2fa):
    client = Client()
    submit_password(client, secure=True)
    response = client.post(CODE, {"code": code_for(), "remember": "1"}, secure=True)

    assert REMEMBER not in response.cookies
    cookie = response.cookies[f"__Host-{REMEMBER}"]
    assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/"
    assert "domain" not in cookie or not cookie["domain"]

    client.post("/logout/", secure=True)
    again = submit_password(client, secure=True)
    assert again["Location"] != CODE and logged_in(client, ada_2fa)


def test_unticked_box_remembers_nothing(ada_2fa):
    client = Client()
    log_in(client, ada_2fa)
    assert not RememberedBrowser.objects.exists()


def test_a_remembered_browser_logs_in_with_the_password_only(ada_2fa, frozen):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)
    frozen.shift(3600)

    response = submit_password(client)

    assert response["Location"] == "/profile/"
    assert logged_in(client, ada_2fa)
    login = SecurityEvent.objects.filter(type=Type.LOGIN).first()
    assert login is not None and login.details == {
        "second_factor": False,
        "remembered_browser": True,
    }
    row = RememberedBrowser.objects.get()
    assert row.last_used_at == row.created_at + timedelta(seconds=3600)


def test_recognising_the_browser_is_one_statement(ada_2fa, rf: RequestFactory):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)
    request = rf.post("/login/")
    request.COOKIES[REMEMBER] = client.cookies[REMEMBER].value

    with CaptureQueriesContext(connection) as queries:
        assert remembered.recognise(request=request, user=ada_2fa)

    assert len(queries) == 1
    assert queries[0]["sql"].lstrip().upper().startswith("UPDATE")


def test_without_a_cookie_recognising_costs_no_statement(ada_2fa, rf, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert not remembered.recognise(request=rf.post("/login/"), user=ada_2fa)


def test_a_wrong_password_is_still_refused_on_a_remembered_browser(ada_2fa):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)

    response = submit_password(client, password="not the password")

    assert response.status_code == 200 and not logged_in(client, ada_2fa)


def test_another_browser_still_gets_the_second_step(ada_2fa):
    remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)

    other = Client(HTTP_USER_AGENT=FIREFOX)
    assert submit_password(other)["Location"] == CODE
    assert not logged_in(other, ada_2fa)


@pytest.mark.parametrize(
    "cookie",
    ["", "forged", "x" * 43, "y" * 500, "ключ-é-🔑" * 4],
    ids=["empty", "short", "random", "long", "non-ascii"],
)
def test_a_forged_cookie_gets_the_second_step_and_changes_nothing(ada_2fa, cookie):
    remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)
    before = list(RememberedBrowser.objects.values())
    client = Client()
    # As a server hands it over: the header's bytes (UTF-8 here) read as ISO-8859-1.
    header = f"{REMEMBER}={cookie}".encode().decode("iso-8859-1")

    assert submit_password(client, HTTP_COOKIE=header)["Location"] == CODE
    assert list(RememberedBrowser.objects.values()) == before


def test_a_cookie_of_another_account_gets_the_second_step(ada_2fa, frozen):
    grace = create_user("grace@example.com", "Grace Hopper")
    enable_2fa(grace)
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)

    response = submit_password(client, grace.email)

    assert response["Location"] == CODE and not logged_in(client, grace)
    assert RememberedBrowser.objects.get().last_used_at is None


def test_an_expired_remembered_browser_gets_the_second_step(ada_2fa, frozen):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)
    frozen.shift(timedelta(days=30, seconds=1))

    assert submit_password(client)["Location"] == CODE
    assert RememberedBrowser.objects.get().last_used_at is None


def test_the_day_before_it_expires_the_browser_is_still_remembered(ada_2fa, frozen):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)
    frozen.shift(timedelta(days=29, hours=23))

    assert submit_password(client)["Location"] == "/profile/"


def test_remembering_again_replaces_the_browsers_earlier_row(ada_2fa, frozen, rf):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)
    first = RememberedBrowser.objects.get()
    frozen.shift(timedelta(days=1))  # the first row is still live
    request = rf.post(CODE, HTTP_USER_AGENT=FIREFOX)
    request.COOKIES[REMEMBER] = client.cookies[REMEMBER].value
    response = HttpResponse()

    assert remembered.remember(request=request, user=ada_2fa, response=response)

    row = RememberedBrowser.objects.get()  # one row: the earlier one went
    assert row.pk != first.pk
    assert response.cookies[REMEMBER].value != client.cookies[REMEMBER].value


def test_a_box_posted_with_a_recovery_code_is_ignored(ada_2fa):
    codes = give_recovery_codes(ada_2fa)
    client = Client()
    submit_password(client)
    response = client.post(f"{CODE}?method=recovery", {"recovery_code": codes[0], "remember": "1"})
    assert logged_in(client, ada_2fa) and REMEMBER not in response.cookies
    client.post("/logout/")

    assert not RememberedBrowser.objects.exists()
    assert submit_password(client)["Location"] == CODE


def test_a_wrong_code_keeps_the_box_ticked_and_remembers_nothing(pending_client):
    page = submit_code(pending_client, "000000", remember=True)

    assert page.status_code == 200
    assert 'data-testid="remember" checked' in page.content.decode()
    assert not RememberedBrowser.objects.exists()


def test_a_remembered_browser_neither_confirms_nor_verifies_a_second_factor(ada_2fa):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)
    submit_password(client)

    assert "twostep_confirmed_at" not in client.session
    assert client.get("/api/session/").json()["verified_with_two_factor"] is False


def test_a_remembered_browser_is_not_a_new_browser_for_the_email(ada_2fa, frozen):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="192.0.2.10")
    OutgoingEmail.objects.all().delete()
    # From another address, with the device cookie lost (cleared by the browser).
    del client.cookies["twostep_device"]

    submit_password(client, REMOTE_ADDR="203.0.113.99")

    assert logged_in(client, ada_2fa)
    assert not OutgoingEmail.objects.filter(subject=NEW_LOGIN).exists()


def test_without_the_remember_cookie_that_browser_gets_the_new_browser_email(ada_2fa, frozen):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="192.0.2.10")
    OutgoingEmail.objects.all().delete()
    del client.cookies["twostep_device"]
    del client.cookies[REMEMBER]

    submit_password(client, REMOTE_ADDR="203.0.113.99")
    submit_code(client, code_for(steps=1))

    assert OutgoingEmail.objects.filter(subject=NEW_LOGIN).count() == 1


def test_with_the_offer_off_remember_does_nothing(ada_2fa, rf, settings):
    settings.TWOSTEP_REMEMBER_DAYS = 0
    response = HttpResponse()

    assert not remembered.remember(request=rf.post(CODE), user=ada_2fa, response=response)
    assert not response.cookies and not RememberedBrowser.objects.exists()


def test_with_the_offer_turned_off_later_a_remembered_browser_gets_the_code(ada_2fa, settings):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)
    settings.TWOSTEP_REMEMBER_DAYS = 0

    assert submit_password(client)["Location"] == CODE


def test_error_reports_hide_the_remember_cookie(ada_2fa, rf):
    client = remembered_browser(ada_2fa, HTTP_USER_AGENT=FIREFOX)
    token = client.cookies[REMEMBER].value
    request = rf.get("/", HTTP_COOKIE=f"{REMEMBER}={token}; __Host-{REMEMBER}={token}")

    report = ExceptionReporter(request, None, None, None).get_traceback_text()

    assert token not in report
    assert SafeExceptionReporterFilter().get_safe_cookies(request)[REMEMBER] != token
