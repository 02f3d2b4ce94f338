"""Hourly limits on sign-up and password-reset emails, and no requester text in them."""

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import OperationalError, connection, transaction
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.accounts.test_signup import GRACE
from tests.concurrency import at_once
from tests.helpers import CHEAP_HASHER, log_in
from twostep.accounts import email_quota
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import deliver_due


def sign_up(ip: str, **changes):
    return Client().post("/signup/", {**GRACE, **changes}, REMOTE_ADDR=ip)


def ask_reset(email: str, ip: str):
    return Client().post("/password-reset/", {"email": email}, REMOTE_ADDR=ip)


def emails_to(address: str) -> int:
    return OutgoingEmail.objects.filter(to=address).count()


@pytest.fixture
def cheap_argon2(settings):
    settings.PASSWORD_HASHERS = [CHEAP_HASHER]


def test_a_fourth_reset_email_within_the_hour_is_not_sent_and_the_page_is_the_same(user, frozen):
    answers = [ask_reset(user.email, f"198.51.100.{n}") for n in range(1, 6)]

    assert emails_to(user.email) == 3
    assert {(a.status_code, a["Location"]) for a in answers} == {(302, "/password-reset/sent/")}
    frozen.shift(3600)
    ask_reset(user.email, "198.51.100.9")
    assert emails_to(user.email) == 4


def test_sign_ups_for_an_address_do_not_spend_its_reset_emails(user, frozen, cheap_argon2):
    for n in range(4):  # a stranger spends the address's sign-up emails
        sign_up(f"192.0.2.{n + 1}", email=user.email)

    ask_reset(user.email, "198.51.100.1")

    assert OutgoingEmail.objects.filter(to=user.email, subject__startswith="Reset").count() == 1
    assert emails_to(user.email) == 3 + 1


@pytest.mark.parametrize(
    "path, data",
    [("/password-reset/", {}), ("/signup/", GRACE)],
    ids=["reset", "sign-up"],
)
def test_the_page_after_a_request_says_a_repeated_request_may_send_nothing(
    db, settings, frozen, cheap_argon2, path, data
):
    settings.TWOSTEP_EMAIL_PER_ADDRESS_HOUR = 2
    pages = [
        Client().post(path, {**data, "email": "grace@example.com"}, follow=True) for _ in range(3)
    ]

    # The same words after the first request and after one past the limit.
    assert len({page.content for page in pages}) == 1
    text = " ".join(pages[-1].content.decode().split())
    assert "at most 2 of these emails to one address an hour" in text
    assert "If you asked more often, wait an hour before asking again" in text


def test_a_sign_up_past_the_limit_answers_the_same_page_and_creates_nothing(db, cheap_argon2):
    pages = [sign_up(f"192.0.2.{n + 1}") for n in range(4)]

    assert emails_to("grace@example.com") == 3
    assert {p.status_code for p in pages} == {200}
    assert len({p.content for p in pages}) == 1


def test_one_ip_gets_twenty_emails_an_hour_and_another_ip_is_not_held_back(db, frozen):
    for n in range(21):
        ask_reset(f"person{n}@example.com", "203.0.113.7")

    spent = email_quota.EmailQuota.objects.get(key="ip:203.0.113.7")
    assert spent.count == 20
    # The 21st address was not counted: a spent IP cannot use up anyone's own allowance.
    assert not email_quota.EmailQuota.objects.filter(
        key__endswith="address:person20@example.com"
    ).exists()
    assert email_quota.allow_email(
        request=RequestFactory().post("/", REMOTE_ADDR="198.51.100.1"),
        email="person20@example.com",
        purpose="reset",
    )


def test_the_limits_come_from_settings(user, settings, frozen):
    settings.TWOSTEP_EMAIL_PER_ADDRESS_HOUR = 1
    ask_reset(user.email, "198.51.100.1")
    ask_reset(user.email, "198.51.100.2")
    assert emails_to(user.email) == 1

    settings.TWOSTEP_EMAIL_PER_ADDRESS_HOUR = 3
    settings.TWOSTEP_EMAIL_PER_IP_HOUR = 0
    ask_reset(user.email, "198.51.100.3")
    assert emails_to(user.email) == 1


def test_the_confirmation_email_does_not_echo_the_name_typed(db, mailoutbox, cheap_argon2):
    bait = "Your account is locked, call +1 555 0100 or visit http://evil.example"
    sign_up("192.0.2.1", full_name=bait)

    deliver_due()
    [message] = mailoutbox
    assert message.body.startswith("Hello,\n")
    assert "evil.example" not in message.body and "+1 555 0100" not in message.body
    assert "evil.example" not in message.subject


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_for_one_address_get_exactly_the_allowance():
    burst = 10

    def request(n: int):
        return lambda: email_quota.allow_email(
            request=RequestFactory().post("/", REMOTE_ADDR=f"198.51.100.{n + 1}"),
            email="ada@example.com",
            purpose="reset",
        )

    results, errors = at_once(*[request(n) for n in range(burst)])

    assert errors == []
    assert len(results) == burst
    assert results.count(True) == 3
    assert email_quota.EmailQuota.objects.get(key="reset:address:ada@example.com").count == 3


def test_the_owners_known_browser_still_gets_its_reset_link_after_strangers_spent_the_hour(
    user, frozen, cheap_argon2
):
    browser = Client()
    log_in(browser, user)
    browser.post("/logout/")
    for n in range(3):
        ask_reset(user.email, f"203.0.113.{n + 1}")  # strangers spend the address's hour

    browser.post("/password-reset/", {"email": user.email}, REMOTE_ADDR="192.0.2.50")
    ask_reset(user.email, "203.0.113.9")

    assert emails_to(user.email) == 4  # three for the strangers, one for the owner


def watch_hashing(monkeypatch, look) -> list:
    """Calls `look()` in the middle of every Argon2 hash computed (which still runs); returns
    what it saw."""
    seen = []
    encode = Argon2PasswordHasher.encode

    def spy(self, password, salt):
        seen.append(look())
        return encode(self, password, salt)

    monkeypatch.setattr(Argon2PasswordHasher, "encode", spy)
    return seen


@pytest.mark.django_db(transaction=True)
def test_a_sign_up_hashes_the_password_outside_any_transaction(make_user, monkeypatch, settings):
    settings.PASSWORD_HASHERS = [CHEAP_HASHER]
    make_user("ada@example.com")
    in_transaction = watch_hashing(monkeypatch, lambda: connection.in_atomic_block)

    for n in range(4):  # a new account, twice a pending one, then past the address limit
        sign_up(f"192.0.2.{n + 1}")
    sign_up("192.0.2.9", email="ada@example.com")  # an active account

    assert in_transaction == [False] * 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_while_a_sign_up_hashes_the_password_the_ips_email_allowance_is_not_locked(
    monkeypatch, settings
):
    settings.PASSWORD_HASHERS = [CHEAP_HASHER]
    key = "ip:192.0.2.1"
    email_quota.EmailQuota.objects.create(key=key, window_started_at=timezone.now(), count=1)

    def lock_from_another_connection() -> str:
        def attempt() -> str:
            with transaction.atomic():
                rows = email_quota.EmailQuota.objects.select_for_update(nowait=True)
                list(rows.filter(key=key))
            return "free"

        (result,), errors = at_once(attempt)
        assert all(isinstance(error, OperationalError) for error in errors), errors
        return "locked" if errors else result

    seen = watch_hashing(monkeypatch, lock_from_another_connection)
    sign_up("192.0.2.1")

    # Another sign-up from this IP could take its count at once, not after this hash.
    assert seen == ["free"]
    assert email_quota.EmailQuota.objects.get(key=key).count == 2
