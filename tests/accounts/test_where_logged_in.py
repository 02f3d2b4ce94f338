"""Settings → "Where you're logged in": every session with its browser, address, start and
last seen; ending one or all others; "last seen" written at most every 5 minutes, so a page
still costs one statement; a password change ends the other sessions."""

from datetime import timedelta

import pytest
from django.test import Client

from tests.concurrency import at_once
from tests.helpers import PASSWORD, enable_2fa, verified_session
from twostep.accounts.models import UserSession
from twostep.accounts.session_activity import SEEN_EVERY
from twostep.accounts.session_list import session_id, sessions_of
from twostep.audit.models import SecurityEvent

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
SETTINGS = "/settings/"
SESSIONS = "/settings/sessions/"


def browser(user, *, agent: str, ip: str) -> Client:
    """A logged-in client whose session row was made from `agent` at `ip`."""
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)
    client.post("/login/", {"email": user.email, "password": PASSWORD})
    assert client.session.get("_auth_user_id") == str(user.pk)
    return client


@pytest.fixture
def two(user, frozen):
    return (
        browser(user, agent=FIREFOX, ip="192.0.2.10"),
        browser(user, agent=SAFARI, ip="198.51.100.7"),
    )


def key_of(client: Client) -> str:
    return client.cookies["sessionid"].value


def test_settings_lists_each_session_with_browser_address_and_this_browser(user, two):
    here, phone = two

    page = here.get(SESSIONS)

    listed = page.context["sessions"]
    assert [(s.browser, s.ip, s.current) for s in listed] == [
        ("Firefox on Linux", "192.0.2.10", True),
        ("Safari on iOS", "198.51.100.7", False),
    ]
    assert all(s.started_at is not None and s.last_seen_at is not None for s in listed)
    html = page.content.decode()
    assert "logged in" in html and "this browser" in html
    assert "/settings/sessions/" in here.get(SETTINGS).content.decode()  # linked from Settings
    assert key_of(phone) not in html and key_of(here) not in html  # keys are credentials


def test_ending_a_session_logs_that_browser_out_on_its_next_request(user, two):
    here, phone = two

    response = here.post("/settings/sessions/end/", {"session": session_id(key_of(phone))})

    assert response["Location"] == SESSIONS
    assert phone.get(SETTINGS)["Location"].startswith("/login/")
    assert here.get(SETTINGS).status_code == 200
    assert SecurityEvent.objects.filter(type="session_ended", subject=user).count() == 1


def test_ending_a_session_already_gone_says_so_and_changes_nothing(user, two):
    here, phone = two
    gone = session_id(key_of(phone))
    here.post("/settings/sessions/end/", {"session": gone})

    response = here.post("/settings/sessions/end/", {"session": gone}, follow=True)

    assert "had already ended" in response.content.decode()
    assert SecurityEvent.objects.filter(type="session_ended").count() == 1
    assert UserSession.objects.filter(user=user).count() == 1


@pytest.mark.parametrize("forged", ["", "x" * 64, "not-hex", "a" * 5000])
def test_a_forged_session_id_is_refused_and_changes_nothing(user, two, forged):
    here, _ = two

    response = here.post("/settings/sessions/end/", {"session": forged}, follow=True)

    assert response.status_code == 200 and "had already ended" in response.content.decode()
    assert UserSession.objects.filter(user=user).count() == 2


def test_another_accounts_session_is_refused_the_same_way(user, make_user, two):
    here, _ = two
    grace = make_user("grace@example.com", "Grace Hopper")
    hers = browser(grace, agent=FIREFOX, ip="203.0.113.9")

    response = here.post("/settings/sessions/end/", {"session": session_id(key_of(hers))})

    assert hers.get(SETTINGS).status_code == 200
    assert here.get(response["Location"]).context["messages"]
    assert not SecurityEvent.objects.filter(type="session_ended").exists()


def test_this_browsers_own_session_is_not_ended_from_the_list(user, two):
    here, _ = two

    here.post("/settings/sessions/end/", {"session": session_id(key_of(here))})

    assert here.get(SETTINGS).status_code == 200


def test_ending_needs_a_post(user, two):
    here, phone = two
    assert here.get(f"/settings/sessions/end/?session={session_id(key_of(phone))}").status_code == (
        405
    )
    assert here.get("/settings/sessions/end-others/").status_code == 405
    assert phone.get(SETTINGS).status_code == 200


def test_ending_needs_the_csrf_token(user, two):
    _, phone = two
    strict = Client(enforce_csrf_checks=True, HTTP_USER_AGENT=FIREFOX)
    strict.cookies["sessionid"] = key_of(two[0])

    assert strict.post("/settings/sessions/end-others/").status_code == 403
    assert phone.get(SETTINGS).status_code == 200


def test_log_out_everywhere_else_keeps_only_this_browser(user, two, make_user):
    here, phone = two
    third = browser(user, agent=SAFARI, ip="198.51.100.8")

    response = here.post("/settings/sessions/end-others/", follow=True)

    assert "logged out of 2 other sessions" in response.content.decode()
    assert phone.get(SETTINGS).status_code == 302 and third.get(SETTINGS).status_code == 302
    assert [s.current for s in sessions_of(user, current_key=key_of(here))] == [True]
    event = SecurityEvent.objects.get(type="other_sessions_ended")
    assert event.details == {"sessions": 2}


def test_the_password_change_ends_the_other_sessions_rows_and_says_so(user, two):
    here, phone = two

    here.post(
        "/settings/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a new pass 4242",
            "new_password2": "a new pass 4242",
        },
    )
    page = here.get(SESSIONS)

    assert "logged out everywhere else (1 other session)" in page.content.decode()
    assert [s.current for s in page.context["sessions"]] == [True]
    assert phone.get(SETTINGS).status_code == 302


def test_last_seen_is_written_at_most_every_five_minutes(
    fast_sessions, user, frozen, django_assert_num_queries
):
    enable_2fa(user)
    client = verified_session(Client(HTTP_USER_AGENT=FIREFOX, REMOTE_ADDR="192.0.2.1"), user)
    row = UserSession.objects.get(user=user)
    started = row.last_seen_at

    frozen.shift(SEEN_EVERY.total_seconds() - 1)
    with django_assert_num_queries(1):
        client.get("/api/session/")
    assert UserSession.objects.get(user=user).last_seen_at == started

    frozen.shift(1)
    with django_assert_num_queries(2):  # the load, then the one conditional UPDATE
        client.get("/api/session/", REMOTE_ADDR="192.0.2.99")
    row = UserSession.objects.get(user=user)
    assert row.last_seen_at == started + SEEN_EVERY and row.ip == "192.0.2.99"
    assert row.created_at == started  # where and when it started stays

    with django_assert_num_queries(1):
        client.get("/api/session/")


def test_a_session_saved_later_keeps_its_start_and_browser(user, two, frozen):
    here, _ = two
    row = UserSession.objects.get(session_key=key_of(here))

    frozen.shift(600)
    session = here.session
    session["something"] = 1
    session.save()

    again = UserSession.objects.get(session_key=key_of(here))
    assert (again.created_at, again.user_agent, again.ip) == (row.created_at, FIREFOX, row.ip)


def test_last_seen_never_brings_back_an_ended_session(user, two, frozen):
    here, phone = two
    frozen.shift(SEEN_EVERY.total_seconds() + 1)
    key = key_of(phone)
    here.post("/settings/sessions/end/", {"session": session_id(key)})

    assert phone.get(SETTINGS).status_code == 302
    assert not UserSession.objects.filter(session_key=key).exists()


def test_with_django_sessions_the_list_ending_and_last_seen_work(django_sessions, user, frozen):
    here = browser(user, agent=FIREFOX, ip="192.0.2.10")
    phone = browser(user, agent=SAFARI, ip="198.51.100.7")
    frozen.shift(timedelta(minutes=6).total_seconds())

    page = here.get(SESSIONS)
    assert [s.browser for s in page.context["sessions"]] == ["Firefox on Linux", "Safari on iOS"]
    row = UserSession.objects.get(session_key=key_of(here))
    assert row.last_seen_at > row.created_at

    here.post("/settings/sessions/end/", {"session": session_id(key_of(phone))})
    assert phone.get(SETTINGS).status_code == 302


@pytest.mark.parametrize("cookie", ["", "nonsense", "x" * 40, "a" * 5000, "'; DROP TABLE x;--"])
def test_a_tampered_session_cookie_is_simply_not_logged_in(user, two, cookie):
    client = Client()
    client.cookies["sessionid"] = cookie

    response = client.get(SESSIONS)

    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert UserSession.objects.filter(user=user).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_ends_of_one_session_at_once_end_it_once(make_user, frozen):
    ada = make_user()
    here = browser(ada, agent=FIREFOX, ip="192.0.2.10")
    other = browser(ada, agent=SAFARI, ip="198.51.100.7")
    target = {"session": session_id(key_of(other))}

    outcome = at_once(
        lambda: here.post("/settings/sessions/end/", target),
        lambda: here.post("/settings/sessions/end/", target),
    )

    assert not outcome.errors
    assert SecurityEvent.objects.filter(type="session_ended").count() == 1
    assert other.get(SETTINGS).status_code == 302
