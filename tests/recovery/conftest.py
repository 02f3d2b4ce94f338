"""Recovery fixtures: the locked-out person, the agent, the vouching manager, cases in each
state, and the mailed links read back from the outgoing queue."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers import add_membership, enable_2fa, verified_session
from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.mail.models import OutgoingEmail
from twostep.recovery import cases, confirmation, decisions, inbound, intake, verification
from twostep.recovery.models import RecoveryCase, RecoveryRequest

SITE = "http://testserver"
ORGANIZATION = "Analytical Engines"


@pytest.fixture(autouse=True)
def site_url(settings):
    """Mailed links point at the test client's host, so their paths can be followed."""
    settings.TWOSTEP_SITE_URL = SITE


@pytest.fixture
def ada(make_user, frozen) -> User:
    """The locked-out person: 2FA on (SECRET), member of Analytical Engines."""
    user = make_user()
    enable_2fa(user)
    add_membership(user, ORGANIZATION)
    return user


@pytest.fixture
def charles(make_user, frozen) -> User:
    """A manager of Ada's organization, with 2FA on."""
    user = make_user("charles@example.com", full_name="Charles Babbage")
    enable_2fa(user)
    add_membership(user, ORGANIZATION, role="manager")
    return user


@pytest.fixture
def grace(make_user, frozen) -> User:
    """A support agent: staff, with 2FA on."""
    user = make_user("grace@example.com", full_name="Grace Hopper", is_staff=True)
    enable_2fa(user)
    return user


def claim(
    email: str = "ada@example.com",
    name: str = "Ada Lovelace",
    organizations: str = ORGANIZATION,
    explanation: str = "I lost my phone",
) -> cases.Claim:
    return cases.Claim(email=email, name=name, organizations=organizations, explanation=explanation)


def file_request(ip: str | None = "198.51.100.7", **fields) -> RecoveryCase | None:
    """A request through the recovery form's service; returns the case it opened or joined."""
    request = intake.submit_request(source=RecoveryCase.Source.WEB, claim=claim(**fields), ip=ip)
    intake.process_requests()  # what the worker does next
    request.refresh_from_db()
    return request.case


def receive_email(raw: bytes) -> RecoveryRequest:
    """An email to support as the SMTP listener or pipe hands it over, then the worker's
    pass over received requests; the request as it ends up."""
    request = inbound.receive(raw)
    intake.process_requests()
    request.refresh_from_db()
    return request


@pytest.fixture
def case(ada) -> RecoveryCase:
    """Ada's case, awaiting the confirmation of her mailbox."""
    opened = file_request()
    assert opened is not None
    return opened


def confirm_as_owner(case: RecoveryCase) -> None:
    """What the owner does on the confirm page: say the opening request is theirs."""
    opening = intake.requests_to_confirm(case)
    confirmation.confirm_mailbox(case=case, request_id=opening[0].pk if opening else None)


@pytest.fixture
def verified_case(case) -> RecoveryCase:
    """Ada's case with her mailbox confirmed: in verification."""
    confirm_as_owner(case)
    assert case.status == RecoveryCase.Status.IN_VERIFICATION
    return case


@pytest.fixture
def checked_case(verified_case: RecoveryCase, grace: User) -> RecoveryCase:
    """In verification, with the whole checklist ticked by Grace."""
    verification.update_checklist(
        actor=grace,
        case=verified_case,
        name_matches=True,
        organizations_match=True,
        evidence="Called Ada on the phone number in our CRM.",
    )
    return verified_case


@pytest.fixture
def hedy(make_user, frozen) -> User:
    """A second support agent, with 2FA on."""
    user = make_user("hedy@example.com", full_name="Hedy Lamarr", is_staff=True)
    enable_2fa(user)
    return user


def approve_with_a_second_person(case: RecoveryCase, agent: User, second_agent: User) -> None:
    """Approve as the two-person rule asks: a manager who could vouch confirms, else a
    second agent approves after the first."""
    candidates = verification.vouch_candidates(case)
    if candidates:
        vouch = verification.request_vouch(actor=agent, case=case, membership=candidates[0])
        verification.answer_vouch(
            manager=candidates[0].user, vouch=vouch, confirmed=True, comment="It is her."
        )
    else:
        decisions.approve(
            actor=second_agent, case=case, typed_email=case.claimed_email, reason="first look"
        )
    assert decisions.approve(
        actor=agent, case=case, typed_email=case.claimed_email, reason="identity checked"
    )


@pytest.fixture
def approved_case(checked_case, grace, hedy) -> RecoveryCase:
    """Approved by Grace after Hedy (or, when a manager exists, after their vouch)."""
    approve_with_a_second_person(checked_case, grace, hedy)
    checked_case.refresh_from_db()
    return checked_case


def emails_to(address: str) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(to=address).order_by("id"))


def mailed_path(email: OutgoingEmail, url_name: str) -> str:
    """The path of the link to `url_name` (e.g. "recovery:confirm") in a queued email."""
    prefix = reverse(url_name, kwargs={"token": "TOKEN"}).removesuffix("TOKEN/")
    links = re.findall(rf"{re.escape(SITE)}{re.escape(prefix)}[\w-]+/", email.body)
    assert len(links) == 1, f"expected one {url_name} link in:\n{email.body}"
    return urlsplit(links[0]).path


def confirm_on_page(client: Client, path: str, *, request_id: int | None = None):
    """Follow a mailed confirm link and say the request `request_id` (default: the one that
    opened the case) is mine, as the owner does on the page; the response."""
    page = open_link(client, path)
    if request_id is None:
        request_id = client.get(page).context["requests"][0].pk
    return client.post(page, {"answer": "mine", "request": request_id})


def last_email_path(address: str, url_name: str) -> str:
    return mailed_path(emails_to(address)[-1], url_name)


def open_link(client: Client, path: str) -> str:
    """Follow a mailed link as a browser does: its token goes into the session and the
    page answers at a URL without it, which this returns."""
    response = client.get(path)
    assert response.status_code == 302, response.status_code
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert token not in response["Location"]
    return response["Location"]


@pytest.fixture
def agent(client: Client, grace: User) -> Client:
    """A client with Grace logged in with 2FA."""
    return verified_session(client, grace)


def case_events(case: RecoveryCase, type: str) -> list[SecurityEvent]:
    return [
        event
        for event in SecurityEvent.objects.filter(type=type).order_by("id")
        if event.details.get("case") == case.pk
    ]


# The support console, as an agent drives it.

Status = RecoveryCase.Status
Type = SecurityEvent.Type
QUEUE = "/support/"
DELAY = 24 * 60 * 60
ADA = "ada@example.com"
DAY = 24 * 60 * 60


def case_url(case: RecoveryCase) -> str:
    return reverse("support:case_detail", kwargs={"pk": case.pk})


def action_url(case: RecoveryCase, action: str) -> str:
    return reverse("support:case_action", kwargs={"pk": case.pk, "action": action})


def act(client: Client, case: RecoveryCase, action: str, **data):
    """POST a support action and follow the redirect back to the case page."""
    response = client.post(action_url(case, action), data, follow=True)
    assert response.redirect_chain == [(case_url(case), 302)]
    case.refresh_from_db()
    return response


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def approve(client: Client, case: RecoveryCase, typed_email: str = "ada@example.com"):
    return act(client, case, "approve", typed_email=typed_email, reason="checked by phone")


def ask_charles(agent: Client, case: RecoveryCase):
    membership = verification.vouch_candidates(case)[0]
    return act(agent, case, "vouch", membership=str(membership.pk))
