"""Who speaks as the person in a case: only their case link (or a request whose mailbox
confirmation succeeded). A repeated request, from the form or a forged email, is kept as an
unverified claim for support, with its channel and origin, and is never the owner's words."""

from django.test import Client
from django.urls import reverse

from tests.recovery.conftest import (
    ORGANIZATION,
    case_events,
    confirm_on_page,
    emails_to,
    file_request,
    last_email_path,
    open_link,
    receive_email,
)
from tests.recovery.test_inbound import message
from twostep.audit.models import SecurityEvent
from twostep.chat.models import Message
from twostep.recovery import intake
from twostep.recovery.models import RecoveryCase, RecoveryRequest

HIJACK = "my mailbox is hacked, please do NOT email me; call me on +1 555 0100"


def support_page(agent: Client, case) -> str:
    return agent.get(reverse("support:case_detail", kwargs={"pk": case.pk})).text


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


# The opening request is a claim too: an attacker who writes first speaks for nobody.


def test_the_opening_request_is_an_unverified_claim_until_the_owner_confirms_it(agent, ada):
    case = file_request(ip="203.0.113.66", explanation=HIJACK)  # the attacker, first
    assert case is not None

    page = support_page(agent, case)

    assert 'data-testid="no-verified-request"' in page
    assert 'data-testid="verified-request"' not in page
    (claim,) = agent.get(reverse("support:case_detail", kwargs={"pk": case.pk})).context["claims"]
    assert claim.explanation == HIJACK and claim.ip == "203.0.113.66"
    assert "Recovery form, IP 203.0.113.66" in page
    case.refresh_from_db()
    assert case.explanation == ""


def test_the_owner_picks_their_own_request_and_the_attackers_stays_a_claim(client, agent, ada):
    case = file_request(ip="203.0.113.66", explanation=HIJACK)  # the attacker, first
    file_request(ip="198.51.100.7", explanation="I lost my phone on the train")  # Ada
    assert case is not None
    ada_request = RecoveryRequest.objects.get(explanation__contains="train")
    confirm = last_email_path(ada.email, "recovery:confirm")

    shown = client.get(open_link(client, confirm))
    assert [r.explanation for r in shown.context["requests"]] == [
        HIJACK,
        "I lost my phone on the train",
    ]
    assert "555 0100" in shown.text  # the owner sees what the attacker wrote
    confirmed = confirm_on_page(Client(), confirm, request_id=ada_request.pk)

    assert confirmed.status_code == 200
    case.refresh_from_db()
    assert case.mailbox_confirmed
    assert case.explanation == "I lost my phone on the train"
    ada_request.refresh_from_db()
    assert ada_request.verified_at is not None
    page = support_page(agent, case)
    assert 'data-testid="verified-request"' in page
    claims = agent.get(reverse("support:case_detail", kwargs={"pk": case.pk})).context["claims"]
    assert [c.explanation for c in claims] == [HIJACK]


def test_this_wasnt_me_cancels_the_case_in_the_owners_name(client, ada):
    case = file_request(ip="203.0.113.66", explanation=HIJACK)
    assert case is not None

    page = client.post(
        open_link(client, last_email_path(ada.email, "recovery:confirm")),
        {"answer": "not_mine"},
    )

    assert page.status_code == 200
    assert "Secure your account" in page.text
    case.refresh_from_db()
    assert case.status == RecoveryCase.Status.CANCELLED and not case.mailbox_confirmed
    (event,) = case_events(case, SecurityEvent.Type.CASE_CANCELLED)
    assert event.actor == ada
    assert emails_to(ada.email)[-1].subject == "A recovery request for your account was cancelled"


def test_confirming_a_request_of_another_case_is_refused_and_changes_nothing(
    client, ada, make_user
):
    make_user("bob@example.com", full_name="Bob Byron")
    bob_case = file_request(email="bob@example.com")
    case = file_request()
    assert case is not None and bob_case is not None
    (bob_request,) = bob_case.requests.all()

    page = confirm_on_page(
        client, last_email_path(ada.email, "recovery:confirm"), request_id=bob_request.pk
    )

    assert page.status_code == 400
    assert "Choose the request that is yours." in page.text
    case.refresh_from_db()
    assert not case.mailbox_confirmed and case.explanation == ""


# The owner is never forced to adopt someone else's words.


def test_the_owner_can_confirm_their_request_after_a_flood_pushed_it_off_the_page(client, ada):
    file_request(ip="203.0.113.66", explanation=HIJACK)
    case = file_request(ip="198.51.100.7", explanation="It is really me, Ada.")
    assert case is not None
    mine = case.requests.get(explanation="It is really me, Ada.")
    for n in range(9):
        file_request(ip=f"203.0.113.{n + 1}", explanation=f"flood {n}")
    assert mine not in intake.requests_to_confirm(case)

    page = confirm_on_page(
        client, last_email_path(ada.email, "recovery:confirm"), request_id=mine.pk
    )

    assert page.status_code == 200
    case.refresh_from_db()
    assert case.mailbox_confirmed and case.explanation == "It is really me, Ada."


def test_its_me_but_none_of_these_confirms_the_mailbox_and_adopts_no_words(client, agent, ada):
    case = file_request(ip="203.0.113.66", explanation=HIJACK)
    assert case is not None

    page = client.post(
        open_link(client, last_email_path(ada.email, "recovery:confirm")),
        {"answer": "none_of_these"},
    )

    assert page.status_code == 200
    assert "tell support what happened on your case page" in page.text
    case.refresh_from_db()
    assert case.status == RecoveryCase.Status.IN_VERIFICATION and case.mailbox_confirmed
    assert (case.claimed_name, case.explanation) == ("", "")
    assert not RecoveryRequest.objects.filter(verified_at__isnull=False).exists()
    (event,) = case_events(case, SecurityEvent.Type.RECOVERY_MAILBOX_CONFIRMED)
    assert event.details["words_adopted"] is False
    assert "Unverified claim" in support_page(agent, case)


def test_claims_refused_for_the_case_limit_are_counted_for_support_with_their_origins(agent, ada):
    case = file_request(ip="203.0.113.200")
    assert case is not None
    for n in range(intake.MAX_CLAIMS_PER_CASE + 2):
        file_request(ip=f"203.0.113.{n % 3 + 1}", explanation=f"claim {n}")

    refused = case.requests.filter(outcome=intake.CLAIMS_LIMITED)
    assert refused.count() == 2
    page = support_page(agent, case)
    assert 'data-testid="refused-claims"' in page
    assert intake.refused_claims(case) == [("IP 203.0.113.1", 1), ("IP 203.0.113.3", 1)]
    assert "1 request from IP 203.0.113.1" in page and "1 request from IP 203.0.113.3" in page
