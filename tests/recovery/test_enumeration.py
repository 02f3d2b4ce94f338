"""The recovery form and inbound mail do the same work for known and unknown addresses:
the same SQL statements, so neither the answer nor its timing tells them apart. What a
known address sets off happens later, in the worker."""

import re
from collections.abc import Callable

from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.recovery.conftest import ORGANIZATION, emails_to
from tests.recovery.test_inbound import message
from twostep.recovery import inbound, intake
from twostep.recovery.models import RecoveryCase


def statements(call: Callable[[], object]) -> list[str]:
    """The statements `call` runs, with their values blanked out."""
    with CaptureQueriesContext(connection) as captured:
        call()
    blanked = []
    for query in captured.captured_queries:
        sql = re.sub(r"'(?:[^']|'')*'", "?", query["sql"])
        sql = re.sub(r'"s\d+_x\d+"', "savepoint", sql)
        blanked.append(re.sub(r"\b\d+(\.\d+)?\b", "?", sql))
    return blanked


def post_form(email: str) -> Callable[[], object]:
    data = {
        "email": email,
        "full_name": "Ada Lovelace",
        "organizations": ORGANIZATION,
        "explanation": "I lost my phone",
    }
    return lambda: Client().post("/recover/", data, REMOTE_ADDR="198.51.100.7")


def test_the_form_runs_the_same_statements_for_known_and_unknown_addresses(ada):
    known = statements(post_form(ada.email))
    unknown = statements(post_form("nobody@example.com"))

    assert known == unknown
    assert not RecoveryCase.objects.exists()  # nothing more until the worker's pass
    intake.process_requests()
    assert RecoveryCase.objects.filter(account=ada).count() == 1


def test_inbound_mail_runs_the_same_statements_for_known_and_unknown_addresses(ada):
    known = statements(lambda: inbound.receive(message("Help", sender=ada.email)))
    unknown = statements(lambda: inbound.receive(message("Help", sender="nobody@example.com")))

    assert known == unknown


def test_the_worker_acts_on_received_requests(ada):
    post_form(ada.email)()

    call_command("worker")

    (case,) = RecoveryCase.objects.all()
    assert case.account == ada
    assert emails_to(ada.email)
