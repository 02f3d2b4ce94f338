"""Device cookies: nobody but the owner can lock the owner out of the password step."""

import re

import pytest
from django.core import signing
from django.test import Client

from tests.accounts.test_password import ask_reset, reset_link, set_new_password
from tests.helpers import (
    CHEAP_HASHER,
    CODE,
    PASSWORD,
    code_for,
    confirmed_session,
    enable_2fa,
    error_text,
    log_in,
    submit_password,
)
from twostep.accounts import devices
from twostep.accounts.models import LoginThrottle

pytestmark = pytest.mark.usefixtures("cheap_argon2")

COOKIE = "twostep_device"
ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}


@pytest.fixture
def cheap_argon2(settings):
    settings.PASSWORD_HASHERS = [CHEAP_HASHER]


def known_browser(user) -> Client:
    """The owner's browser: it completed a login for `user`, then logged out."""
    browser = Client()
    log_in(browser, user)
    browser.post("/logout/")
    assert COOKIE in browser.cookies
    return browser


def lock_out(email: str, attempts: int = 12) -> None:
    """A stranger guesses until the account is in its back-off."""
    stranger = Client()
    for n in range(attempts):
        submit_password(stranger, email, f"guess {n}", **ATTACKER)
    refused = submit_password(Client(), email, PASSWORD, REMOTE_ADDR="198.51.100.1")
    assert "Try again in" in error_text(refused)


def test_the_owners_known_browser_logs_in_while_strangers_keep_the_account_backed_off(user, frozen):
    browser = known_browser(user)
    lock_out(user.email)

    response = submit_password(browser, user.email, PASSWORD)

    assert response.status_code == 302
    assert "_auth_user_id" in browser.session
    # Everyone else still waits, the owner's success did not lift the account's back-off.
    assert "Try again in" in error_text(submit_password(Client(), user.email, PASSWORD))


def test_with_2fa_the_known_browser_still_reaches_the_code_step(user, frozen):
    enable_2fa(user)
    browser = known_browser(user)
    lock_out(user.email)

    assert submit_password(browser, user.email, PASSWORD)["Location"] == CODE


def test_a_known_browser_has_its_own_back_off(user, frozen):
    browser = known_browser(user)
    for _ in range(5):
        assert error_text(submit_password(browser, user.email, "wrong")) == (
            "Invalid email or password."
        )

    assert "Try again in" in error_text(submit_password(browser, user.email, PASSWORD))
    # Its failures are its own: other clients are not held back by them.
    assert submit_password(Client(), user.email, PASSWORD).status_code == 302


def test_a_browser_that_only_passed_the_password_step_is_not_trusted(user, frozen):
    enable_2fa(user)
    browser = Client()
    assert submit_password(browser, user.email, PASSWORD)["Location"] == CODE
    assert COOKIE in browser.cookies  # handed out, but no login completed from it
    lock_out(user.email)

    assert "Try again in" in error_text(submit_password(browser, user.email, PASSWORD))

    frozen.shift(15 * 60)
    submit_password(browser, user.email, PASSWORD)
    browser.post(CODE, {"code": code_for()})  # now the login completes from it
    browser.post("/logout/")
    lock_out(user.email)
    assert submit_password(browser, user.email, PASSWORD).status_code == 302


def test_a_device_cookie_for_another_account_counts_as_untrusted(user, make_user, frozen):
    grace = make_user("grace@example.com", "Grace Hopper")
    graces_browser = known_browser(grace)
    lock_out(user.email)

    refused = submit_password(graces_browser, user.email, PASSWORD)

    assert "Try again in" in error_text(refused)


@pytest.mark.parametrize(
    "forge",
    [
        lambda value: value[:-2] + ("AA" if not value.endswith("AA") else "BB"),
        lambda value: signing.dumps({"u": 1, "e": "ada@example.com", "n": "x"}, salt="other"),
        lambda value: "not a signed value",
    ],
    ids=["tampered", "signed-for-something-else", "garbage"],
)
def test_a_forged_or_tampered_device_cookie_counts_as_untrusted(user, frozen, forge):
    browser = known_browser(user)
    browser.cookies[COOKIE] = forge(browser.cookies[COOKIE].value)
    lock_out(user.email)

    assert "Try again in" in error_text(submit_password(browser, user.email, PASSWORD))


def test_the_device_cookie_is_httponly_lax_long_lived_and_names_the_account(user):
    browser = Client()
    response = submit_password(browser, user.email, PASSWORD)

    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert int(cookie["max-age"]) >= 300 * 24 * 3600
    assert not cookie["secure"]
    data = signing.loads(cookie.value, salt=devices.SALT)
    assert (data["u"], data["e"]) == (user.pk, user.email)
    assert re.fullmatch(r"[\w-]{20,}", data["n"])


def test_over_https_the_device_cookie_is_secure_with_the_host_prefix(user):
    response = submit_password(Client(), user.email, PASSWORD, secure=True)

    cookie = response.cookies[f"__Host-{COOKIE}"]
    assert cookie["secure"] and cookie["httponly"] and not cookie["domain"]


def test_a_completed_password_reset_clears_the_account_back_off(client, user, mailoutbox, frozen):
    lock_out(user.email)
    ask_reset(client, user.email)
    set_new_password(client, reset_link(mailoutbox))

    response = submit_password(Client(), user.email, "a brand new passphrase 42")

    assert response.status_code == 302
    assert not LoginThrottle.objects.filter(key="account:ada@example.com").exists()


def test_a_password_change_clears_the_account_back_off(user, frozen):
    browser = confirmed_session(Client(), user)
    lock_out(user.email)

    new = "new pass 9876"
    browser.post(
        "/settings/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert submit_password(Client(), user.email, new).status_code == 302


def must_wait(response) -> bool:
    """The password step refused the attempt with its back-off message."""
    return response.status_code == 200 and "Try again in" in error_text(response)


def change_password(browser: Client, new: str = "new pass 9876"):
    return browser.post(
        "/settings/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )


def test_a_password_change_forgets_every_other_trusted_browser(user, frozen):
    saved = known_browser(user)  # e.g. a cookie someone kept from an old login
    changer = Client()
    log_in(changer, user)
    new = "new pass 9876"

    assert change_password(changer, new).status_code == 302
    changer.post("/logout/")
    lock_out(user.email)

    assert must_wait(submit_password(saved, user.email, new))
    # The browser that made the change stays trusted.
    assert submit_password(changer, user.email, new).status_code == 302


def test_a_password_change_gives_the_browser_that_made_it_a_new_device_cookie(user, frozen):
    changer = Client()
    log_in(changer, user)
    copied = Client()  # someone copied the cookie this browser held before the change
    copied.cookies[COOKIE] = changer.cookies[COOKIE].value
    new = "new pass 9876"

    change_password(changer, new)
    changer.post("/logout/")
    lock_out(user.email)

    assert changer.cookies[COOKIE].value != copied.cookies[COOKIE].value
    assert must_wait(submit_password(copied, user.email, new))
    assert submit_password(changer, user.email, new).status_code == 302


def test_a_password_reset_forgets_every_trusted_browser(client, user, mailoutbox, frozen):
    browser = known_browser(user)
    ask_reset(client, user.email)
    set_new_password(client, reset_link(mailoutbox))
    lock_out(user.email)

    refused = submit_password(browser, user.email, "a brand new passphrase 42")

    assert must_wait(refused)
    assert not LoginThrottle.objects.filter(key__startswith=f"device:{user.pk}:").exists()


def test_a_browser_forgotten_by_a_reset_gets_a_new_cookie_when_it_logs_in_again(
    client, user, mailoutbox, frozen
):
    browser = known_browser(user)
    copied = Client()
    copied.cookies[COOKIE] = browser.cookies[COOKIE].value
    ask_reset(client, user.email)
    set_new_password(client, reset_link(mailoutbox))
    new = "a brand new passphrase 42"

    log_in(browser, user, password=new)  # the owner's browser, trusted again
    browser.post("/logout/")
    lock_out(user.email)

    assert submit_password(browser, user.email, new).status_code == 302
    assert must_wait(submit_password(copied, user.email, new))


def test_a_device_cookie_is_not_trusted_for_a_new_account_with_the_same_address(
    user, make_user, frozen
):
    browser = known_browser(user)
    type(user).objects.filter(pk=user.pk).update(email="ada.old@example.com")
    newcomer = make_user("ada@example.com", "Another Ada")
    lock_out(newcomer.email)

    assert must_wait(submit_password(browser, newcomer.email, PASSWORD))


def test_an_account_keeps_only_its_ten_most_recently_used_browsers(user, frozen):
    browsers = []
    for _ in range(devices.MAX_TRUSTED + 1):
        browsers.append(known_browser(user))
        frozen.shift(60)
    lock_out(user.email)

    assert must_wait(submit_password(browsers[0], user.email, PASSWORD))
    assert submit_password(browsers[1], user.email, PASSWORD).status_code == 302
    assert submit_password(browsers[-1], user.email, PASSWORD).status_code == 302
    rows = LoginThrottle.objects.filter(key__startswith=f"device:{user.pk}:")
    assert rows.count() == devices.MAX_TRUSTED


def test_trusted_browsers_share_one_allowance_of_free_tries(user, frozen):
    browsers = [known_browser(user) for _ in range(3)]
    for n in range(5):  # the free tries, spread over the browsers
        wrong = submit_password(browsers[n % 3], user.email, f"guess {n}")
        assert error_text(wrong) == "Invalid email or password."

    # A browser with failures of its own left has to wait as well.
    assert must_wait(submit_password(browsers[2], user.email, PASSWORD))
    frozen.shift(15 * 60)
    assert submit_password(browsers[2], user.email, PASSWORD).status_code == 302
    # The success cleared the allowance for every trusted browser of the account.
    browsers[0].post("/logout/")
    assert error_text(submit_password(browsers[0], user.email, "guess")) == (
        "Invalid email or password."
    )


def test_a_browser_forgotten_after_its_cookie_was_checked_is_not_trusted_again(
    user, frozen, monkeypatch
):
    """A password reset between the cookie check and the locked count must not bring the
    forgotten browser's row back: the row is what makes a browser trusted."""
    browser = known_browser(user)
    checked = devices.trusted_device

    def checked_then_forgotten(**kwargs):
        device = checked(**kwargs)
        LoginThrottle.objects.filter(key__startswith=f"device:{user.pk}:").delete()
        return device

    monkeypatch.setattr(devices, "trusted_device", checked_then_forgotten)
    submit_password(browser, user.email, "wrong")

    assert not LoginThrottle.objects.filter(key__startswith=f"device:{user.pk}:").exists()
    assert LoginThrottle.objects.get(key=f"account:{user.email}").failure_count == 1
