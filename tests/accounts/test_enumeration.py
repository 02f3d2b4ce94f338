"""Known and unknown addresses cost the same on login, password reset and sign-up: the same
SQL statements on the same tables (the same writes), and the same hashing."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.helpers import PASSWORD
from tests.login.test_login import argon2_calls  # noqa: F401 - a fixture

TABLE = re.compile(r'\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)
WRITES = ("INSERT", "UPDATE", "DELETE")


def work(request) -> list[tuple[str, str]]:
    """Each SQL statement a request runs, as (read / write / transaction, table)."""
    with CaptureQueriesContext(connection) as captured:
        request()
    shapes = []
    for query in captured.captured_queries:
        sql = query["sql"].lstrip()
        verb = sql.split(None, 1)[0].upper()
        table = TABLE.search(sql)
        kind = "write" if verb in WRITES else "read" if verb == "SELECT" else "transaction"
        shapes.append((kind, table[1] if table and kind != "transaction" else ""))
    return shapes


def writes(shapes: list[tuple[str, str]]) -> list[str]:
    return sorted(table for kind, table in shapes if kind == "write")


def post(path: str, data: dict, ip: str):
    # A fresh client and address each time: every throttle key starts in the same state.
    return lambda: Client().post(path, data, REMOTE_ADDR=ip)


def test_a_wrong_password_and_an_unknown_email_run_the_same_statements_and_hashing(
    user,
    argon2_calls,  # noqa: F811
):
    post("/login/", {"email": "warm-up@example.com", "password": "x"}, "192.0.2.9")()
    argon2_calls.clear()

    known = work(post("/login/", {"email": user.email, "password": "wrong"}, "192.0.2.1"))
    known_hashing, argon2_calls[:] = list(argon2_calls), []
    unknown = work(post("/login/", {"email": "nobody@example.com", "password": "x"}, "192.0.2.2"))

    assert known == unknown
    # The account's and the IP's failure counts, and the refusal recorded either way.
    assert writes(known) == ["accounts_loginthrottle"] * 2 + ["audit_securityevent"]
    assert known_hashing == argon2_calls == ["verify"]


def test_an_account_without_a_usable_password_costs_the_hashing_of_an_unknown_address(
    make_user,
    argon2_calls,  # noqa: F811
):
    make_user("no-password@example.com", "Staff Made", password=None)
    post("/login/", {"email": "warm-up@example.com", "password": "x"}, "192.0.2.9")()
    argon2_calls.clear()

    known = work(post("/login/", {"email": "no-password@example.com", "password": "x"}, "1.0.0.1"))
    known_hashing, argon2_calls[:] = list(argon2_calls), []
    unknown = work(post("/login/", {"email": "nobody@example.com", "password": "x"}, "1.0.0.2"))

    assert known == unknown
    assert known_hashing == argon2_calls == ["verify"]


def test_an_account_that_logged_in_before_fails_like_an_address_never_tried(
    user,
    argon2_calls,  # noqa: F811
):
    post("/login/", {"email": user.email, "password": "wrong"}, "192.0.2.7")()
    logged_in = post("/login/", {"email": user.email, "password": PASSWORD}, "192.0.2.8")()
    assert logged_in.status_code == 302
    post("/login/", {"email": "warm-up@example.com", "password": "x"}, "192.0.2.9")()

    known = work(post("/login/", {"email": user.email, "password": "wrong"}, "192.0.2.1"))
    unknown = work(post("/login/", {"email": "nobody@example.com", "password": "x"}, "192.0.2.2"))

    assert known == unknown


def test_a_reset_for_a_known_or_unknown_address_runs_the_same_statements(user):
    known = work(post("/password-reset/", {"email": user.email}, "192.0.2.1"))
    unknown = work(post("/password-reset/", {"email": "nobody@example.com"}, "192.0.2.2"))

    assert known == unknown
    # The two hourly counters (created here), the event and the queued email, either way.
    assert writes(known) == ["accounts_emailquota"] * 4 + [
        "audit_securityevent",
        "mail_outgoingemail",
    ]


def sign_up(email: str, ip: str):
    data = {
        "full_name": "Grace Hopper",
        "email": email,
        "password1": "nanoseconds and bugs",
        "password2": "nanoseconds and bugs",
    }
    return post("/signup/", data, ip)


def test_a_sign_up_for_a_known_or_unknown_address_does_the_same_writes_and_hashing(
    user,
    argon2_calls,  # noqa: F811
):
    known = work(sign_up(user.email, "192.0.2.1"))
    known_hashing, argon2_calls[:] = list(argon2_calls), []
    unknown = work(sign_up("newcomer@example.com", "192.0.2.2"))

    # The same statements on the same tables; a new account is an INSERT where a known
    # one is an UPDATE of the same row, both a write.
    assert known == unknown
    assert writes(known) == ["accounts_emailquota"] * 4 + [
        "accounts_user",
        "audit_securityevent",
        "mail_outgoingemail",
    ]
    assert known_hashing == argon2_calls == ["encode"]


@pytest.mark.parametrize("path", ["/login/", "/password-reset/", "/signup/"])
def test_the_page_is_the_same_for_a_known_and_an_unknown_address(user, path):
    data = {"email": "", "password": "wrong", "full_name": "G", "password1": "x" * 20}
    data["password2"] = data["password1"]
    known = Client().post(path, {**data, "email": user.email}, REMOTE_ADDR="192.0.2.1")
    unknown = Client().post(path, {**data, "email": "nobody@example.com"}, REMOTE_ADDR="192.0.2.2")

    assert known.status_code == unknown.status_code
    strip = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub(b"", known.content).replace(user.email.encode(), b"E") == strip.sub(
        b"", unknown.content
    ).replace(b"nobody@example.com", b"E")
