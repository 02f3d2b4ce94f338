"""Who speaks as the person in a case: only their case link (or a request whose mailbox
confirmation succeeded). A repeated request, from the form or a forged email, is kept as an
unverified claim for support, with its channel and origin, and is never the owner's words."""

from django.test import Client
from django.urls import reverse

from tests.recovery.conftest import ORGANIZATION, last_email_path, open_link, receive_email
from tests.recovery.test_inbound import message
from twostep.chat.models import Message
from twostep.recovery import intake
from twostep.recovery.models import RecoveryRequest

HIJACK = "my mailbox is hacked, please do NOT email me; call me on +1 555 0100"


def support_page(agent: Client, case) -> str:
    return agent.get(reverse("recovery:case_detail", kwargs={"pk": case.pk})).text


def test_a_repeated_form_request_is_an_unverified_claim_not_the_owners_words(
    client, agent, ada, verified_case
):
    client.post(
        "/recover/",
        {
            "email": ada.email,
            "full_name": "Ada Lovelace",
            "organizations": ORGANIZATION,
            "explanation": HIJACK,
        },
        REMOTE_ADDR="203.0.113.66",
    )
    intake.process_requests()  # the worker's next pass

    assert not Message.objects.filter(body__contains="555 0100").exists()
    owner_page = Client().get(last_email_path(ada.email, "recovery:case"), follow=True)
    assert owner_page.status_code == 200
    assert "555 0100" not in owner_page.text
    page = support_page(agent, verified_case)
    assert "Unverified claim" in page
    assert "Recovery form" in page and "203.0.113.66" in page
    assert "555 0100" in page
    request = RecoveryRequest.objects.order_by("-id")[0]
    assert (request.case, request.outcome) == (verified_case, "unverified claim on the open case")


def test_a_forged_email_is_shown_with_its_sender_header(agent, ada, verified_case):
    receive_email(message(HIJACK, sender="Ada L. <ada@example.com>"))

    assert not Message.objects.filter(body__contains="555 0100").exists()
    page = support_page(agent, verified_case)
    assert "Unverified claim" in page
    assert "Email to support" in page
    assert "From: &quot;Ada L.&quot; &lt;ada@example.com&gt;" in page
    assert "555 0100" in page


def test_the_case_link_speaks_as_the_person(agent, ada, verified_case):
    owner = Client()
    page = open_link(owner, last_email_path(ada.email, "recovery:case"))
    owner.post(page, {"body": "It is me, Ada."})

    (written,) = Message.objects.all()
    assert written.body == "It is me, Ada." and not written.from_support
    assert "Unverified claim" not in support_page(agent, verified_case)
