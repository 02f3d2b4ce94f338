"""The confirm page refuses crafted input with a clear message, never a 500."""

import pytest
from django.test import Client

from tests.recovery.conftest import last_email_path, open_link
from twostep.recovery.models import RecoveryCase


@pytest.mark.parametrize("value", ["²", "١٢", "12a", "", "9" * 20])
def test_a_request_number_that_is_not_ascii_digits_is_refused_with_a_message(
    client, ada, case, value
):
    page = open_link(client, last_email_path(ada.email, "recovery:confirm"))

    response = client.post(page, {"answer": "mine", "request": value})

    assert response.status_code == 400
    assert "Choose the request that is yours." in response.text
    case.refresh_from_db()
    assert not case.mailbox_confirmed


@pytest.mark.parametrize("answer", ["mine", "not_mine"])
def test_a_case_whose_account_is_gone_is_an_invalid_link_not_a_500(ada, case, answer):
    client = Client(raise_request_exception=False)
    page = open_link(client, last_email_path(ada.email, "recovery:confirm"))
    RecoveryCase.objects.filter(pk=case.pk).update(account=None)

    response = client.post(page, {"answer": answer, "request": case.requests.get().pk})

    assert response.status_code == 404
    assert "This link does not work" in response.text
    case.refresh_from_db()
    assert case.is_open and not case.mailbox_confirmed
