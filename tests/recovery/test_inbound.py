"""Email to the support address: parsing, a forged sender, bad messages kept and rejected,
the MTA pipe command and the real SMTP listener."""

import io
import smtplib
import socket
from email.message import EmailMessage
from unittest import mock

import pytest
from django.core.management import call_command

from tests.recovery.conftest import ORGANIZATION, emails_to, receive_email
from twostep.recovery import cases, decisions, inbound, intake, verification
from twostep.recovery.models import RecoveryCase, RecoveryRequest
from twostep.recovery.smtp import controller

SUPPORT = "support@bpart.com"


def message(body: str, *, sender: str = "Ada Lovelace <ada@example.com>", subject="Locked out"):
    lines = [
        f"From: {sender}",
        f"To: {SUPPORT}",
        f"Subject: {subject}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        body,
    ]
    return "\r\n".join(lines).encode()


PLAIN = message(
    "Hello,\n\n"
    "Name: Ada Lovelace\n"
    "Organizations: Analytical Engines\n\n"
    "I lost my phone yesterday and cannot log in."
)


def test_plain_message_gives_sender_name_organizations_and_explanation():
    claim = inbound.parse(PLAIN)

    assert claim.email == "ada@example.com"
    assert claim.name == "Ada Lovelace"
    assert claim.organizations == "Analytical Engines"
    assert "I lost my phone yesterday and cannot log in." in claim.explanation
    assert "Name:" not in claim.explanation
    assert "Organizations:" not in claim.explanation


def test_html_only_multipart_is_read_line_by_line_with_entities_decoded():
    email = EmailMessage()
    email["From"] = "ada@example.com"
    email["To"] = SUPPORT
    email["Subject"] = "Help"
    email.set_content(
        "<html><head><style>p { color: red }</style></head><body>"
        "<div>Name: Ada King<br>Organizations: Babbage &amp; Co, Analytical Engines</div>"
        "<p>I lost my phone &amp; can&#39;t log in.</p>"
        "<blockquote>Name: Mallory<br>Organizations: Evil Corp</blockquote></body></html>",
        subtype="html",
    )
    email.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="id.png")
    assert email.is_multipart()

    claim = inbound.parse(email.as_bytes())

    assert claim.name == "Ada King"
    assert claim.organizations.splitlines() == ["Babbage & Co", "Analytical Engines"]
    assert "I lost my phone & can't log in." in claim.explanation
    assert "<" not in claim.explanation
    assert "color" not in claim.explanation
    assert "Mallory" not in claim.explanation  # the quoted reply is dropped


def test_organizations_as_a_bullet_list():
    claim = inbound.parse(
        message(
            "Full name: Ada Lovelace\n"
            "Organizations:\n"
            "- Analytical Engines\n"
            "* Difference Engines\n"
            "\n"
            "• Royal Society\n"
            "\n"
            "My phone fell in the Thames."
        )
    )

    assert claim.organizations.splitlines() == [
        "Analytical Engines",
        "Difference Engines",
        "Royal Society",
    ]
    assert claim.explanation.endswith("My phone fell in the Thames.")


def test_organizations_inline_separated_by_commas():
    claim = inbound.parse(message("Organizations: Analytical Engines, Difference Engines\nHelp"))

    assert claim.organizations.splitlines() == ["Analytical Engines", "Difference Engines"]


def test_the_help_centre_wording_is_understood():
    claim = inbound.parse(
        message(
            "Your full name: Ada Lovelace\n"
            "The organization(s) you manage or work with: Analytical Engines\n"
            "A short explanation of what happened: I lost my phone"
        )
    )

    assert claim.name == "Ada Lovelace"
    assert claim.organizations == "Analytical Engines"


def test_quoted_reply_and_signature_are_dropped():
    claim = inbound.parse(
        message(
            "Still locked out, please help.\n"
            "Organizations: Analytical Engines\n"
            "\n"
            "> Name: Mallory\n"
            "> Organizations: Evil Corp\n"
            "> Please send us your name.\n"
            "-- \n"
            "Ada\n"
            "Name: Countess of Lovelace\n"
        )
    )

    assert claim.name == "Ada Lovelace"  # not Mallory, not the signature
    assert claim.organizations == "Analytical Engines"
    assert "Mallory" not in claim.explanation
    assert "Please send us" not in claim.explanation
    assert "Countess" not in claim.explanation
    assert "Still locked out, please help." in claim.explanation


def test_display_name_is_used_without_a_name_line():
    claim = inbound.parse(message("I lost my phone", sender='"Lovelace, Ada" <Ada@Example.com>'))

    assert claim.name == "Lovelace, Ada"
    assert claim.email == "Ada@Example.com"


def test_encoded_display_name_is_decoded():
    claim = inbound.parse(message("Help", sender="=?utf-8?q?Ad=C3=A1_Lovelace?= <ada@example.com>"))

    assert claim.name == "Adá Lovelace"


def test_subject_is_part_of_the_explanation():
    claim = inbound.parse(message("Please help.", subject="Lost my phone on the train"))

    assert claim.explanation.startswith("Lost my phone on the train")


def test_email_opens_a_case_and_keeps_the_raw_message(ada):
    request = receive_email(PLAIN)

    assert request.outcome == "opened a case"
    assert request.source == RecoveryCase.Source.EMAIL
    assert request.raw_message == PLAIN.decode()
    case = request.case
    assert case is not None
    assert (case.account, case.source) == (ada, RecoveryCase.Source.EMAIL)
    assert request.claimed_organizations == ORGANIZATION
    assert case.claimed_organizations == ""  # a claim until the owner confirms it
    assert [email.to for email in emails_to(ada.email)] == [ada.email]


def test_forged_sender_opens_a_case_that_waits_for_the_real_mailbox(ada, grace):
    forged = message(
        "Name: Ada Lovelace\nOrganizations: Analytical Engines\nI lost my phone",
        sender="Ada Lovelace <ADA@example.com>",
    )

    request = receive_email(forged)

    case = request.case
    assert case is not None
    assert case.status == RecoveryCase.Status.AWAITING_CONFIRMATION
    assert not case.mailbox_confirmed
    # The link goes to the account's address, which the forger does not read.
    assert [email.to for email in emails_to(ada.email)] == ["ada@example.com"]
    with pytest.raises(cases.RecoveryError):
        verification.update_checklist(
            actor=grace, case=case, name_matches=True, organizations_match=True, evidence="x"
        )
    with pytest.raises(cases.RecoveryError):
        decisions.approve(actor=grace, case=case, typed_email=ada.email, reason="looks fine")
    case.refresh_from_db()
    assert case.status == RecoveryCase.Status.AWAITING_CONFIRMATION
    assert case.approved_at is None


def test_email_from_an_unknown_address_opens_nothing_and_mails_nobody(db):
    request = receive_email(message("Help", sender="stranger@example.com"))

    assert request.outcome == "no account for this address"
    assert request.case is None
    assert emails_to("stranger@example.com") == []


GARBAGE = bytes(range(256)) * 4 + b"\x00\xff\xfe\r\n\r\n\x00 not an email \x00"
NO_FROM = b"To: support@bpart.com\r\nSubject: help\r\n\r\nI lost my phone, I am Ada."
OVERSIZED = message("Name: Ada Lovelace\n" + "x" * (300 * 1024))


@pytest.mark.parametrize(
    ("raw", "outcome"),
    [
        (GARBAGE, "rejected: no valid sender address"),
        (NO_FROM, "rejected: no valid sender address"),
        (message("Help", sender="not an address"), "rejected: no valid sender address"),
        (OVERSIZED, "rejected: larger than 256 KB"),
    ],
    ids=["garbage-bytes", "no-from", "bad-from", "300-kb"],
)
def test_unreadable_message_is_kept_as_rejected_and_opens_no_case(ada, raw, outcome):
    request = receive_email(raw)

    request.refresh_from_db()
    assert request.outcome == outcome
    assert request.raw_message
    assert request.raw_message[:20] == raw[:20].decode("utf-8", errors="replace").replace(
        "\x00", "\ufffd"
    )
    assert request.case is None
    assert not RecoveryCase.objects.exists()
    assert emails_to(ada.email) == []


def test_nul_bytes_in_a_readable_message_are_stored(ada):
    request = receive_email(message("Name: Ada\x00 Lovelace\nI lost\x00 my phone"))

    assert request.case is not None
    request.refresh_from_db()
    assert "\x00" not in request.raw_message
    assert "lost" in request.explanation


def run_pipe_command(raw: bytes) -> str:
    stdin = mock.Mock(buffer=io.BytesIO(raw))
    stdout = io.StringIO()
    with mock.patch("sys.stdin", stdin):
        call_command("receive_support_email", stdout=stdout)
    return stdout.getvalue()


def test_pipe_command_reads_one_message_on_stdin(ada):
    output = run_pipe_command(PLAIN)

    request = RecoveryRequest.objects.get()
    assert output.strip() == f"request #{request.pk}: received"
    intake.process_requests()  # the worker's next pass
    request.refresh_from_db()
    assert request.case is not None and request.case.account == ada
    assert request.raw_message == PLAIN.decode()


def test_pipe_command_keeps_an_oversized_message_as_rejected(db):
    output = run_pipe_command(OVERSIZED)

    request = RecoveryRequest.objects.get()
    assert output.strip().endswith("rejected: larger than 256 KB")
    # Only its beginning is kept: refused mail cannot fill the disk.
    assert len(request.raw_message) == intake.REFUSED_TEXT_LIMIT
    assert not RecoveryCase.objects.exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_listener():
    port = free_port()
    server = controller(host="127.0.0.1", port=port)
    server.start()
    yield port
    server.stop()


@pytest.mark.django_db(transaction=True)
def test_smtp_listener_opens_a_case_for_mail_to_the_support_address(smtp_listener, make_user):
    ada = make_user()

    with smtplib.SMTP("127.0.0.1", smtp_listener, timeout=10) as smtp:
        refused = smtp.sendmail("ada@example.com", [SUPPORT], PLAIN)

    assert refused == {}
    intake.process_requests()  # the worker's next pass
    case = RecoveryCase.objects.get()
    assert (case.account, case.source) == (ada, RecoveryCase.Source.EMAIL)
    assert RecoveryRequest.objects.get().claimed_organizations == ORGANIZATION
    raw_kept = RecoveryRequest.objects.get().raw_message
    assert raw_kept.replace("\r\n", "\n").rstrip() == PLAIN.decode().replace("\r\n", "\n")
    assert [email.to for email in emails_to(ada.email)] == [ada.email]


@pytest.mark.django_db(transaction=True)
def test_smtp_listener_refuses_other_recipients_with_550(smtp_listener, make_user):
    make_user()

    with smtplib.SMTP("127.0.0.1", smtp_listener, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("ada@example.com", ["someone@bpart.com"], PLAIN)

    (code, _reason) = refused.value.recipients["someone@bpart.com"]
    assert code == 550
    assert not RecoveryRequest.objects.exists()
    assert not RecoveryCase.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_smtp_listener_refuses_a_message_over_the_size_limit(smtp_listener, make_user):
    make_user()

    with smtplib.SMTP("127.0.0.1", smtp_listener, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            smtp.sendmail("ada@example.com", [SUPPORT], OVERSIZED)

    assert refused.value.smtp_code == 552
    assert not RecoveryCase.objects.exists()


def test_a_second_email_joins_the_open_case(ada):
    first = receive_email(PLAIN)
    second = receive_email(message("Any news? I still cannot log in."))

    assert second.case == first.case
    assert second.outcome == intake.UNVERIFIED_CLAIM
    assert RecoveryCase.objects.count() == 1
    assert second.raw_message.endswith("Any news? I still cannot log in.")


@pytest.mark.django_db(transaction=True)
def test_smtp_listener_records_the_sending_clients_address(smtp_listener, make_user, settings):
    settings.TWOSTEP_INBOUND_SMTP_RELAYS = []  # 127.0.0.1 is a client, not our relay
    make_user()

    with smtplib.SMTP("127.0.0.1", smtp_listener, timeout=10) as smtp:
        smtp.sendmail("ada@example.com", [SUPPORT], PLAIN)

    request = RecoveryRequest.objects.get()
    assert request.ip == "127.0.0.1"
    assert request.origin.startswith("IP 127.0.0.1, From: ")


@pytest.mark.django_db(transaction=True)
def test_smtp_listener_does_not_count_its_relays_address(smtp_listener, make_user):
    make_user()  # the default relays: the MTA on this machine hands the mail over

    with smtplib.SMTP("127.0.0.1", smtp_listener, timeout=10) as smtp:
        smtp.sendmail("ada@example.com", [SUPPORT], PLAIN)

    assert RecoveryRequest.objects.get().ip is None


def test_the_per_ip_limit_counts_inbound_mail(ada):
    for _ in range(intake.MAX_REQUESTS_PER_IP):
        inbound.receive(message("I lost my phone"), ip="203.0.113.25")

    refused = inbound.receive(message("I lost my phone"), ip="203.0.113.25")

    assert refused.outcome == intake.RATE_LIMITED
