"""The recovery form: same answer for everyone, a case only the account's mailbox confirms,
repeated requests joining it, rate limits, and bad input that changes nothing."""

import socket

import pytest
from django.core import mail
from django.urls import reverse

from tests.concurrency import at_once
from tests.helpers import PASSWORD
from tests.recovery.conftest import (
    ORGANIZATION,
    claim,
    confirm_on_page,
    emails_to,
    file_request,
    last_email_path,
    mailed_path,
)
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.mail.services import deliver_due
from twostep.recovery import decisions, intake
from twostep.recovery.models import RecoveryCase, RecoveryRequest

REQUEST = "/recover/"


def form(email: str = "ada@example.com", **fields) -> dict[str, str]:
    return {
        "email": email,
        "full_name": "Ada Lovelace",
        "organizations": ORGANIZATION,
        "explanation": "I lost my phone",
        **fields,
    }


def test_code_page_links_to_the_recovery_page_with_the_seed_steps(client, ada):
    client.post(reverse("login:login"), {"email": ada.email, "password": PASSWORD})
    code_page = client.get(reverse("login:code"))
    assert code_page.status_code == 200
    help_url = reverse("login:help")
    assert f'href="{help_url}">Lost access to your authenticator app?</a>' in code_page.text

    page = client.get(help_url, follow=True)

    assert page.redirect_chain == [(REQUEST, 302)]
    for words in (
        "Lost access to your authenticator app?",
        "The organization(s) you manage or work with",
        "I lost my phone",
        "Recovery is only possible after manual identity verification",
        "support@bpart.com",
    ):
        assert words in page.text
    for field in ("email", "full_name", "organizations", "explanation"):
        assert f'name="{field}"' in page.text


def test_known_and_unknown_addresses_get_the_same_answer(client, ada):
    known = client.post(REQUEST, form("ada@example.com"))
    unknown = client.post(REQUEST, form("nobody@example.com"))
    intake.process_requests()  # the worker's next pass

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    page = client.get(known["Location"])
    assert intake.SAME_ANSWER in page.text
    assert (
        "If this address belongs to an account, we have sent it a link to confirm the request"
        in page.text
    )
    assert RecoveryCase.objects.count() == 1
    assert emails_to("nobody@example.com") == []


def test_request_opens_a_case_awaiting_confirmation(client, ada):
    client.post(REQUEST, form("  Ada@Example.COM "), REMOTE_ADDR="203.0.113.5")
    intake.process_requests()  # the worker's next pass

    case = RecoveryCase.objects.get()
    assert case.account == ada
    assert case.status == RecoveryCase.Status.AWAITING_CONFIRMATION
    assert case.source == RecoveryCase.Source.WEB
    request = RecoveryRequest.objects.get()
    assert (request.claimed_name, request.claimed_organizations) == ("Ada Lovelace", ORGANIZATION)
    assert request.explanation == "I lost my phone"
    # Not the person's words until the owner confirms the request from their mailbox.
    assert (case.claimed_name, case.claimed_organizations, case.explanation) == ("", "", "")
    assert case.mailbox_confirmed_at is None
    assert (request.case, request.ip, request.outcome) == (case, "203.0.113.5", "opened a case")
    assert SecurityEvent.objects.filter(type=SecurityEvent.Type.RECOVERY_REQUESTED).count() == 1


def test_confirmation_goes_only_to_the_accounts_own_address(ada):
    file_request(email="ADA@example.com")

    (email,) = OutgoingEmail.objects.all()
    assert email.to == "ada@example.com"
    assert email.subject == "Confirm your request to reset two-factor authentication"
    assert last_email_path(ada.email, "recovery:confirm")
    assert last_email_path(ada.email, "recovery:case")


def test_confirm_link_shows_a_button_and_get_changes_nothing(client, case):
    path = last_email_path("ada@example.com", "recovery:confirm")

    page = client.get(path, follow=True)

    assert page.status_code == 200
    assert "Yes, this request is mine" in page.text
    assert '<form method="post">' in page.text
    case.refresh_from_db()
    assert case.status == RecoveryCase.Status.AWAITING_CONFIRMATION
    assert case.mailbox_confirmed_at is None


def test_posting_the_confirm_link_proves_the_mailbox(client, case, frozen):
    path = last_email_path("ada@example.com", "recovery:confirm")

    page = confirm_on_page(client, path)

    assert page.status_code == 200
    assert "your request is confirmed" in page.text
    case.refresh_from_db()
    assert case.status == RecoveryCase.Status.IN_VERIFICATION
    assert case.mailbox_confirmed_at is not None
    assert case.mailbox_confirmed
    assert SecurityEvent.objects.filter(
        type=SecurityEvent.Type.RECOVERY_MAILBOX_CONFIRMED, subject=case.account
    ).exists()
    # The link is spent.
    assert client.get(path).status_code == 404
    assert "_auth_user_id" not in client.session


def test_a_made_up_confirm_link_is_404_and_confirms_nothing(client, case):
    response = client.post("/recover/confirm/not-a-real-token/")

    assert response.status_code == 404
    case.refresh_from_db()
    assert case.mailbox_confirmed_at is None


def test_repeated_request_joins_the_open_case_as_an_unverified_claim(client, case):
    client.post(REQUEST, form(explanation="Still locked out, please hurry"))
    intake.process_requests()

    assert RecoveryCase.objects.count() == 1
    latest = RecoveryRequest.objects.order_by("-id").first()
    assert latest is not None
    assert (latest.case, latest.outcome) == (case, intake.UNVERIFIED_CLAIM)
    assert latest.explanation == "Still locked out, please hurry"
    # Never the person's words in the conversation.
    assert not case.conversation.messages.exists()
    # The mailbox is still unconfirmed: the links go to the account's address again.
    assert [email.to for email in OutgoingEmail.objects.all()] == ["ada@example.com"] * 2


def test_a_request_after_the_mailbox_confirmation_does_not_mail_again(verified_case):
    joined = file_request(explanation="Any news?")

    assert joined == verified_case
    assert len(emails_to("ada@example.com")) == 1


def test_links_are_mailed_again_at_most_three_times_an_hour_per_case(case, frozen):
    for _ in range(5):
        assert file_request() == case

    assert len(emails_to("ada@example.com")) == intake.MAX_LINK_MAILS_PER_CASE
    assert RecoveryRequest.objects.filter(outcome=intake.UNVERIFIED_CLAIM).count() == 5

    frozen.shift(3601)
    file_request()
    assert len(emails_to("ada@example.com")) == intake.MAX_LINK_MAILS_PER_CASE + 1


def test_an_unknown_address_is_recorded_and_mails_nobody(case):
    assert file_request(email="someone.else@example.com") is None
    assert RecoveryRequest.objects.order_by("-id")[0].outcome == "no account for this address"
    assert emails_to("someone.else@example.com") == []


def test_eleventh_request_from_one_ip_within_an_hour_opens_nothing(ada):
    for n in range(intake.MAX_REQUESTS_PER_IP):
        file_request(ip="203.0.113.9", email=f"stranger{n}@example.com")

    assert file_request(ip="203.0.113.9") is None
    assert RecoveryRequest.objects.order_by("-id")[0].outcome == "rate limited"
    assert not RecoveryCase.objects.exists()
    assert OutgoingEmail.objects.count() == 0

    assert file_request(ip="198.51.100.1") is not None


def test_a_refused_request_is_stored_cut_short(ada):
    for n in range(intake.MAX_REQUESTS_PER_IP):
        file_request(ip="203.0.113.9", email=f"stranger{n}@example.com")

    file_request(ip="203.0.113.9", explanation="x" * 5000, organizations="y" * 1000)

    refused = RecoveryRequest.objects.order_by("-id")[0]
    assert refused.outcome == intake.RATE_LIMITED
    assert len(refused.explanation) == len(refused.claimed_organizations) == 500


def test_requests_refused_for_their_case_count_toward_the_ip_limit(ada, monkeypatch):
    monkeypatch.setattr(intake, "MAX_CLAIMS_PER_CASE", 1)
    file_request(ip="198.51.100.1")  # opens Ada's case
    file_request(ip="198.51.100.2")  # the one claim the case keeps this hour

    for _ in range(intake.MAX_REQUESTS_PER_IP):
        file_request(ip="203.0.113.9", explanation="z" * 5000)

    outcomes = RecoveryRequest.objects.filter(ip="203.0.113.9").values_list("outcome", flat=True)
    assert set(outcomes) == {intake.CLAIMS_LIMITED}
    assert all(
        len(text) <= 500
        for text in RecoveryRequest.objects.filter(ip="203.0.113.9").values_list(
            "explanation", flat=True
        )
    )
    file_request(ip="203.0.113.9")
    assert RecoveryRequest.objects.order_by("-id")[0].outcome == intake.RATE_LIMITED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_from_one_ip_pass_the_limit_only_as_often_as_it_allows(make_user):
    make_user()

    def submit() -> None:
        intake.submit_request(source=RecoveryCase.Source.WEB, claim=claim(), ip="203.0.113.9")

    assert at_once(*[submit] * (2 * intake.MAX_REQUESTS_PER_IP)).errors == []
    outcomes = list(RecoveryRequest.objects.values_list("outcome", flat=True))
    assert outcomes.count(intake.RECEIVED) == intake.MAX_REQUESTS_PER_IP


def test_rate_limited_request_gets_the_same_answer(client, ada):
    for n in range(intake.MAX_REQUESTS_PER_IP):
        client.post(REQUEST, form(f"stranger{n}@example.com"))

    response = client.post(REQUEST, form())

    assert response.status_code == 302
    assert response["Location"] == reverse("recovery:sent")
    assert RecoveryRequest.objects.order_by("-id")[0].outcome == "rate limited"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"email": "not an address"}, "email"),
        ({"email": ""}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"full_name": ""}, "full_name"),
        ({"full_name": "A" * 201}, "full_name"),
        ({"organizations": "O" * 1001}, "organizations"),
        ({"explanation": "x" * 5001}, "explanation"),
        ({"explanation": "I lost\x00 my phone"}, "explanation"),
        ({"full_name": "Ada\x00"}, "full_name"),
    ],
    ids=[
        "bad-email",
        "no-email",
        "long-email",
        "no-name",
        "long-name",
        "long-organizations",
        "long-explanation",
        "nul-in-explanation",
        "nul-in-name",
    ],
)
def test_bad_form_input_gets_an_error_and_writes_nothing(client, ada, fields, field):
    response = client.post(REQUEST, form(**fields))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="error" role="alert"' in response.text
    assert not RecoveryRequest.objects.exists()
    assert not RecoveryCase.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_get_of_the_request_page_writes_nothing(client, ada):
    assert client.get(REQUEST).status_code == 200
    assert not RecoveryRequest.objects.exists()


def test_confirmation_email_survives_an_smtp_outage(settings, ada, frozen):
    with socket.socket() as probe:  # a port nobody listens on: the SMTP server is down
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", dead_port, 2

    file_request()
    assert deliver_due() == 0

    (queued,) = OutgoingEmail.objects.all()
    assert queued.status == OutgoingEmail.Status.QUEUED
    assert queued.attempts == 1 and queued.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"  # back up
    frozen.shift(60)
    assert deliver_due() == 1
    (sent,) = mail.outbox
    assert sent.to == ["ada@example.com"]
    assert "/recover/confirm/" in sent.body


# Repeated and forged requests: the owner's links keep working, the owner gets through.


def test_a_repeated_request_keeps_the_links_the_owner_already_holds(client, case):
    confirm = last_email_path("ada@example.com", "recovery:confirm")
    case_link = last_email_path("ada@example.com", "recovery:case")

    file_request(ip="203.0.113.66", explanation="not Ada")

    first, again = emails_to("ada@example.com")
    assert mailed_path(again, "recovery:confirm") == confirm
    assert mailed_path(again, "recovery:case") == case_link
    assert client.get(case_link, follow=True).status_code == 200
    confirm_on_page(client, confirm)
    case.refresh_from_db()
    assert case.mailbox_confirmed


def test_forged_requests_cannot_use_up_the_owners_quota(client, case, grace, frozen):
    for n in range(2 * intake.MAX_LINK_MAILS_PER_CASE):
        file_request(ip=f"203.0.113.{n}", explanation="forged")
    confirm = last_email_path("ada@example.com", "recovery:confirm")

    owners = client.post(REQUEST, form(), REMOTE_ADDR="198.51.100.20")
    intake.process_requests()

    assert owners["Location"] == reverse("recovery:sent")
    assert RecoveryRequest.objects.order_by("-id")[0].outcome != "rate limited"
    # Every copy in the owner's inbox carries the same, still working link.
    inbox = emails_to("ada@example.com")
    assert len(inbox) == intake.MAX_LINK_MAILS_PER_CASE
    assert {mailed_path(email, "recovery:confirm") for email in inbox} == {confirm}
    # Support rejects the spammed case: the owner's next request opens one and mails it.
    decisions.reject(actor=grace, case=case, reason="spam")
    assert file_request(ip="198.51.100.20") not in (None, case)
    assert len(emails_to("ada@example.com")) == intake.MAX_LINK_MAILS_PER_CASE + 1


@pytest.mark.parametrize(
    "name", ["Ada\r\nBcc: everyone@example.com", "Ada\nLovelace", "Ada\x0bLovelace"]
)
def test_a_name_with_a_line_break_or_control_character_is_refused_clearly(client, ada, name):
    response = client.post(REQUEST, form(full_name=name))

    assert response.status_code == 200
    assert "no line breaks or control characters" in response.context["form"].errors["full_name"][0]
    assert not RecoveryRequest.objects.exists()
