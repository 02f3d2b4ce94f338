"""Settings → "Where you're logged in": the remembered browsers listed beside the sessions,
forgotten one by one or all at once (POST, CSRF, "confirm it's you"); one already gone is
said clearly and changes nothing."""

import pytest
from django.test import Client

from tests.helpers import (
    CODE,
    code_for,
    enable_2fa,
    log_in,
    remembered_browser,
    submit_password,
)
from twostep.accounts.models import RememberedBrowser, User
from twostep.audit.models import SecurityEvent

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
SESSIONS = "/settings/sessions/"
FORGET = "/settings/sessions/forget-browser/"
FORGET_ALL = "/settings/sessions/forget-browsers/"
REMEMBER = "twostep_remember_token"
CONFIRM_THEN_SESSIONS = "/confirm/?next=%2Fsettings%2Fsessions%2F"
Type = SecurityEvent.Type


@pytest.fixture
def ada(user: User, frozen) -> User:
    enable_2fa(user)
    return user


@pytest.fixture
def two(ada, frozen) -> tuple[Client, Client]:
    """Ada logged in on two remembered browsers (each login with its own code); the
    second, her phone, logged in the way it usually does (password only) a minute later."""
    laptop, phone = Client(HTTP_USER_AGENT=FIREFOX), Client(HTTP_USER_AGENT=SAFARI)
    log_in(laptop, ada, remember=True)
    frozen.shift(30)
    log_in(phone, ada, remember=True)
    phone.post("/logout/")
    frozen.shift(60)
    assert submit_password(phone)["Location"] != CODE
    return laptop, phone


def row_of(label: str) -> RememberedBrowser:
    return RememberedBrowser.objects.get(label=label)


def test_the_sessions_page_lists_remembered_browsers_with_this_browser_first(two):
    laptop, _phone = two

    page = laptop.get(SESSIONS)

    listed = page.context["remembered"]
    assert [(r.label, r.current) for r in listed] == [
        ("Firefox on Linux", True),
        ("Safari on iOS", False),
    ]
    assert listed[1].last_used_at is not None and listed[0].last_used_at is None
    html = page.content.decode()
    assert html.count('data-testid="remembered-browser"') == 2
    assert laptop.cookies[REMEMBER].value not in html
    assert row_of("Firefox on Linux").token_hash not in html


def test_without_remembered_browsers_the_section_is_absent(ada):
    client = Client()
    log_in(client, ada)
    assert 'data-testid="remembered"' not in client.get(SESSIONS).content.decode()


def test_forgetting_another_browser_asks_it_for_the_code_again(two, ada, frozen):
    laptop, phone = two
    phone.post("/logout/")

    response = laptop.post(FORGET, {"id": row_of("Safari on iOS").pk}, follow=True)

    assert "it will be asked for a code again" in response.content.decode()
    assert list(RememberedBrowser.objects.values_list("label", flat=True)) == ["Firefox on Linux"]
    event = SecurityEvent.objects.get(type=Type.REMEMBERED_BROWSER_FORGOTTEN)
    assert event.details["browser"] == "Safari on iOS"
    assert submit_password(phone)["Location"] == CODE


def test_forgetting_this_browser_takes_its_cookie_back(two):
    laptop, _phone = two

    response = laptop.post(FORGET, {"id": row_of("Firefox on Linux").pk})

    assert response.cookies[REMEMBER].value == ""  # deleted
    assert not RememberedBrowser.objects.filter(label="Firefox on Linux").exists()


def test_forgetting_one_already_gone_says_so_and_changes_nothing(two):
    laptop, _phone = two
    gone = row_of("Safari on iOS").pk
    laptop.post(FORGET, {"id": gone})
    events = SecurityEvent.objects.count()

    response = laptop.post(FORGET, {"id": gone}, follow=True)

    assert "already forgotten" in response.content.decode()
    assert SecurityEvent.objects.count() == events
    assert RememberedBrowser.objects.count() == 1


@pytest.mark.parametrize("posted", [{}, {"id": ""}, {"id": "abc"}, {"id": "9" * 30}])
def test_a_malformed_id_is_said_clearly(two, posted):
    laptop, _phone = two

    response = laptop.post(FORGET, posted, follow=True)

    assert response.status_code == 200 and "already forgotten" in response.content.decode()
    assert RememberedBrowser.objects.count() == 2


def test_another_accounts_browser_cannot_be_forgotten(two, make_user, frozen):
    grace = make_user("grace@example.com", "Grace Hopper")
    enable_2fa(grace)
    hers = Client()
    log_in(hers, grace)

    response = hers.post(FORGET, {"id": row_of("Safari on iOS").pk}, follow=True)

    assert "already forgotten" in response.content.decode()
    assert RememberedBrowser.objects.count() == 2


def test_forget_all_forgets_every_remembered_browser_and_says_how_many(two):
    laptop, phone = two

    response = laptop.post(FORGET_ALL, follow=True)

    assert "2 browsers are forgotten" in response.content.decode()
    assert not RememberedBrowser.objects.exists()
    event = SecurityEvent.objects.get(type=Type.REMEMBERED_BROWSERS_FORGOTTEN)
    assert event.details == {"count": 2, "reason": "forgotten from Settings"}
    phone.post("/logout/")
    assert submit_password(phone)["Location"] == CODE


def test_forget_all_with_nothing_left_says_so(two):
    laptop, _phone = two
    laptop.post(FORGET_ALL)

    response = laptop.post(FORGET_ALL, follow=True)

    assert "No browser was remembered" in response.content.decode()
    assert SecurityEvent.objects.filter(type=Type.REMEMBERED_BROWSERS_FORGOTTEN).count() == 1


def test_forgetting_is_post_only(two):
    laptop, _phone = two
    assert laptop.get(FORGET).status_code == 405
    assert laptop.get(FORGET_ALL).status_code == 405


def test_forgetting_needs_the_csrf_token(ada, frozen):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    client.post(
        "/login/",
        {
            "email": ada.email,
            "password": "correct horse battery staple",
            "csrfmiddlewaretoken": token,
        },
    )
    client.post(
        CODE,
        {
            "code": code_for(),
            "remember": "1",
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )
    assert RememberedBrowser.objects.count() == 1

    assert client.post(FORGET_ALL).status_code == 403
    assert RememberedBrowser.objects.count() == 1


def test_forgetting_asks_to_confirm_its_you_once_the_window_closed(two, frozen):
    laptop, _phone = two
    frozen.shift(11 * 60)  # the window opened by the login closed

    one = laptop.post(FORGET, {"id": row_of("Safari on iOS").pk})
    every = laptop.post(FORGET_ALL)

    assert one["Location"] == every["Location"] == CONFIRM_THEN_SESSIONS
    assert "Confirm it" in laptop.get(one["Location"]).content.decode()  # the real page
    assert RememberedBrowser.objects.count() == 2


def test_a_remembered_browsers_session_confirms_before_forgetting(two):
    _laptop, phone = two  # logged in with the password only: no window ever opened

    one = phone.post(FORGET, {"id": row_of("Firefox on Linux").pk})
    every = phone.post(FORGET_ALL)

    assert one["Location"] == every["Location"] == CONFIRM_THEN_SESSIONS
    assert RememberedBrowser.objects.count() == 2
    assert not SecurityEvent.objects.filter(
        type__in=[Type.REMEMBERED_BROWSER_FORGOTTEN, Type.REMEMBERED_BROWSERS_FORGOTTEN]
    ).exists()


def test_forget_all_keeps_a_shared_browsers_cookie_of_another_account(two, ada, make_user, frozen):
    grace = make_user("grace@example.com", "Grace Hopper")
    enable_2fa(grace)
    shared = remembered_browser(grace)  # the cookie this browser holds is Grace's
    frozen.shift(60)
    log_in(shared, ada)  # Ada on Grace's browser, not remembering it

    response = shared.post(FORGET_ALL)

    assert REMEMBER not in response.cookies  # Grace's cookie stays
    assert not RememberedBrowser.objects.filter(user=ada).exists()
    shared.post("/logout/")
    assert submit_password(shared, grace.email)["Location"] != CODE


def test_the_list_shows_each_browsers_ip_address(ada, frozen):
    client = remembered_browser(ada, REMOTE_ADDR="192.0.2.44")
    submit_password(client, REMOTE_ADDR="192.0.2.44")

    page = client.get(SESSIONS).content.decode()

    assert "IP address" in page and "192.0.2.44" in page.split('data-testid="remembered"')[1]


def test_with_the_offer_off_the_list_is_hidden(two, settings):
    laptop, _phone = two
    settings.TWOSTEP_REMEMBER_DAYS = 0

    page = laptop.get(SESSIONS)

    assert page.context["remembered"] == []
    assert 'data-testid="remembered"' not in page.content.decode()


def test_logged_out_visitors_are_sent_to_log_in(two):
    response = Client().post(FORGET_ALL)
    assert response["Location"].startswith("/login/")
    assert RememberedBrowser.objects.count() == 2
