"""My Profile, Settings and the name menu, as the help centre describes them."""

import pytest
from django.test import Client
from django.utils import timezone

from tests.accounts.url_patterns import every_url
from tests.helpers import add_membership, confirmed_session, enable_2fa, log_in
from twostep.audit.services import describe_browser

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
CHROME_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1"
)
FIREFOX_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) FxiOS/125.0 Mobile/15E148 Safari/605.1.15"
)
EDGE_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36 EdgA/124.0.2478.64"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"
)


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (CHROME_WINDOWS, "Chrome on Windows"),
        (FIREFOX_LINUX, "Firefox on Linux"),
        (SAFARI_IPHONE, "Safari on iOS"),
        (EDGE_WINDOWS, "Edge on Windows"),
        (CHROME_ANDROID, "Chrome on Android"),
        (CHROME_IPHONE, "Chrome on iOS"),
        (FIREFOX_IPHONE, "Firefox on iOS"),
        (EDGE_ANDROID, "Edge on Android"),
        (SAFARI_MAC, "Safari on macOS"),
        ("curl/8.5.0", "curl/8.5.0"),
        ("", "Unknown"),
    ],
)
def test_describe_browser_names_browser_and_system(user_agent, label):
    assert describe_browser(user_agent) == label


@pytest.fixture
def ada_client(client, user):
    client.force_login(user)
    return client


def test_my_profile_shows_name_email_and_organizations_with_role(ada_client, user):
    add_membership(user, "Compiler Works", "member")
    add_membership(user, "Analytical Engines", "manager")

    page = ada_client.get("/profile/").content.decode()

    assert "Ada Lovelace" in page and "ada@example.com" in page
    rows = [
        "<tr><td>Analytical Engines</td><td>Manager</td></tr>",
        "<tr><td>Compiler Works</td><td>Member</td></tr>",
    ]
    assert all(row in page for row in rows)
    assert page.index(rows[0]) < page.index(rows[1])


def test_my_profile_shows_only_my_own_organizations(ada_client, user, make_user):
    grace = make_user("grace@example.com", "Grace Hopper")
    add_membership(grace, "Compiler Works", "manager")

    page = ada_client.get("/profile/").content.decode()

    assert "Compiler Works" not in page
    assert "You are not part of an organization yet." in page


def test_settings_shows_two_factor_off_and_the_enable_button(ada_client):
    page = ada_client.get("/settings/").content.decode()

    assert "<h2>Two-factor authentication</h2>" in page
    assert '<p class="status off" data-testid="mfa-status">Off</p>' in page
    assert 'action="/settings/2fa/enable/"' in page
    assert "Enable Two-Factor Authentication</button>" in page


def test_settings_shows_on_since_the_day_2fa_was_confirmed(ada_client, user, frozen):
    enable_2fa(user)  # NOW is 2 February 2026, 03:40 in Brussels

    page = ada_client.get("/settings/").content.decode()

    assert "On since 2 February 2026</p>" in page
    assert "Enable Two-Factor Authentication" not in page
    assert 'href="/settings/2fa/disable/"' in page


def test_settings_lists_recent_security_events_with_time_ip_and_browser(client, user, frozen):
    log_in(client, user, REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT=FIREFOX_LINUX)
    frozen.shift(60)
    client.post("/settings/2fa/enable/", REMOTE_ADDR="198.51.100.24", HTTP_USER_AGENT=EDGE_WINDOWS)

    page = client.get("/settings/").content.decode()

    assert 'data-testid="security-events"' in page
    newest = "<td>2 Feb 2026, 03:41</td><td>2FA set-up started</td>"
    oldest = "<td>2 Feb 2026, 03:40</td><td>Logged in</td>"
    assert newest in page and oldest in page and page.index(newest) < page.index(oldest)
    assert "<td>198.51.100.24</td><td>Edge on Windows</td>" in page
    assert "<td>198.51.100.23</td><td>Firefox on Linux</td>" in page


def test_settings_shows_only_my_own_security_events(ada_client, make_user):
    grace = make_user("grace@example.com", "Grace Hopper")
    log_in(Client(), grace, REMOTE_ADDR="203.0.113.77")

    page = ada_client.get("/settings/").content.decode()

    assert "203.0.113.77" not in page
    assert "No activity yet." in page


def test_settings_and_profile_need_a_login(client):
    for path in ("/profile/", "/settings/"):
        assert client.get(path)["Location"] == f"/login/?next={path}"


def test_every_authenticated_page_has_the_name_menu(make_user):
    ada, grace = make_user(), make_user("grace@example.com", "Grace Hopper")
    enable_2fa(ada)  # Ada's disable page exists
    pages = set()
    for person in (ada, grace):
        client = confirmed_session(Client(), person)
        if person == grace:  # Grace's set-up page exists, for her session
            client.post("/settings/2fa/enable/")
        for url in every_url(dummy=str(person.pk)):
            if url.name.startswith("admin:") or url.path.startswith("/admin/"):
                continue  # the admin has its own layout
            response = client.get(url.path)
            if response.status_code != 200 or "text/html" not in response["Content-Type"]:
                continue
            page = response.content.decode()
            menu = page[page.index('data-testid="user-menu"') :] if "user-menu" in page else ""
            assert f">{person.full_name}</summary>" in menu, f"no name menu on {url}"
            assert all(
                item in menu
                for item in ('href="/profile/">My Profile', 'href="/settings/">Settings', "Log out")
            ), f"incomplete name menu on {url}"
            pages.add(url.name)
    expected = {
        "accounts:profile",
        "accounts:settings",
        "accounts:password_change",
        "mfa:setup",
        "mfa:disable",
        "login:confirm",
    }
    assert expected <= pages


def test_the_name_menu_is_not_shown_to_anonymous_visitors(client):
    assert b"user-menu" not in client.get("/login/").content


def test_timezone_is_brussels_for_the_dates_shown():
    # The dates asserted above are Brussels time: keep the assumption visible.
    assert str(timezone.get_current_timezone()) == "Europe/Brussels"
