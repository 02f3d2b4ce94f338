"""Support answers from the console: inbox, conversation with account summary, poll, and
opening a recovery case from a chat."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.chat.conftest import conversation_of
from tests.helpers import PASSWORD, code_for, enable_2fa, verified_session
from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.chat import services
from twostep.chat.models import Message
from twostep.mail.models import OutgoingEmail
from twostep.recovery.models import RecoveryCase

pytestmark = pytest.mark.django_db

# The agent's poll: the session (with the agent and their device, one query:
# twostep.accounts.session_engine), the conversation's existence, the messages. Pinned here.
SUPPORT_POLL_QUERIES = 3


@pytest.fixture
def conversation(person):
    return services.post_for_user(user=person, body="I lost my phone").conversation


def page_of(client, conversation):
    return client.get(reverse("support:conversation", args=[conversation.pk]))


def support_urls(conversation) -> list[str]:
    return [
        reverse("support:inbox"),
        reverse("support:conversation", args=[conversation.pk]),
        reverse("support:poll", args=[conversation.pk]),
    ]


def make_case(*, email: str = "lost@example.com", account=None) -> RecoveryCase:
    now = timezone.now()
    return RecoveryCase.objects.create(
        account=account,
        source=RecoveryCase.Source.WEB,
        claimed_email=email,
        status=RecoveryCase.Status.AWAITING_CONFIRMATION,
        conversation=services.new_case_conversation(now=now),
        created_at=now,
        updated_at=now,
    )


def test_anonymous_visitor_is_sent_to_login(client, conversation):
    for url in support_urls(conversation):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login:login") + "?next="), url


def test_staff_without_an_active_device_get_403(client, make_user, conversation):
    staff = make_user("nodevice@example.com", "No Device", is_staff=True)
    verified_session(client, staff)  # session says verified, but 2FA is off

    for url in support_urls(conversation):
        assert client.get(url).status_code == 403, url


def test_staff_whose_session_skipped_2fa_get_403(client, agent, conversation):
    client.force_login(agent)  # no SESSION_MFA_VERIFIED

    for url in support_urls(conversation):
        assert client.get(url).status_code == 403, url
    response = client.post(reverse("support:conversation", args=[conversation.pk]), {"body": "hi"})
    assert response.status_code == 403
    assert not Message.objects.filter(from_support=True).exists()


def test_agent_logged_in_with_password_and_code_can_use_the_console(client, agent, conversation):
    client.post(reverse("login:login"), {"email": agent.email, "password": PASSWORD})
    client.post(reverse("login:code"), {"code": code_for()})

    assert page_of(client, conversation).status_code == 200


def test_staff_reply_appears_in_the_persons_poll(agent_client, person_client, conversation):
    after = Message.objects.get().pk

    response = agent_client.post(
        reverse("support:conversation", args=[conversation.pk]),
        {"body": "We can help: <b>open</b> a case"},
    )

    assert response.status_code == 302
    found = person_client.get(reverse("chat:poll"), {"after": after}).json()["messages"]
    assert [(m["body"], m["from_support"]) for m in found] == [
        ("We can help: <b>open</b> a case", True)
    ]
    assert conversation_of(conversation.user).needs_reply is False


def test_staff_reply_is_validated_like_any_message(agent_client, conversation):
    url = reverse("support:conversation", args=[conversation.pk])
    for body in ["", "y" * 2001, "z" * 100_000]:
        response = agent_client.post(url, {"body": body})
        assert response.status_code == 400
        assert 'role="alert"' in response.content.decode()
    assert not Message.objects.filter(from_support=True).exists()


def test_persons_message_appears_in_the_support_poll(agent_client, person_client, conversation):
    url = reverse("support:poll", args=[conversation.pk])
    after = agent_client.get(url).json()["messages"][-1]["id"]
    person_client.post(reverse("chat:help"), {"body": "Are you there?"})

    found = agent_client.get(url, {"after": after}).json()["messages"]

    assert [m["body"] for m in found] == ["Are you there?"]
    assert found[0]["author"] == "Ada Lovelace"


def test_support_poll_reads_messages_in_one_query(
    fast_sessions, agent_client, conversation, django_assert_max_num_queries
):
    url = reverse("support:poll", args=[conversation.pk])

    with django_assert_max_num_queries(SUPPORT_POLL_QUERIES):
        with CaptureQueriesContext(connection) as queries:
            response = agent_client.get(url, {"after": 0})

    assert len(response.json()["messages"]) == 1
    message_queries = [q["sql"] for q in queries if 'FROM "chat_message"' in q["sql"]]
    assert len(message_queries) == 1, message_queries


def test_support_poll_of_an_unknown_conversation_is_404(agent_client):
    assert agent_client.get(reverse("support:poll", args=[999_999])).status_code == 404
    assert agent_client.get(reverse("support:conversation", args=[999_999])).status_code == 404


def test_support_poll_refuses_a_bad_after(agent_client, conversation):
    url = reverse("support:poll", args=[conversation.pk])
    assert agent_client.get(url, {"after": "x"}).status_code == 400


def test_conversation_page_shows_the_account_summary(agent_client, agent, person, conversation):
    enable_2fa(person)
    record(type=SecurityEvent.Type.LOGIN, subject=person)
    RecoveryCase.objects.create(
        account=person,
        source="web",
        claimed_email=person.email,
        status="in_verification",
        conversation=services.new_case_conversation(now=timezone.now()),
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )

    response = page_of(agent_client, conversation)

    assert response.status_code == 200
    summary = response.content.decode().split('data-testid="account-summary"')[1]
    assert "Ada Lovelace" in summary
    assert "ada@example.com" in summary
    assert 'Analytical Engines <span class="muted">(Manager)</span>' in summary
    assert 'Difference Club <span class="muted">(Member)</span>' in summary
    assert '<span class="status on">On</span>' in summary
    assert "Logged in" in summary
    assert "In verification" in summary
    assert "Open a recovery case" in summary
    assert "I lost my phone" in response.content.decode()


def test_summary_shows_2fa_off_and_only_the_latest_five_events(agent_client, person, conversation):
    for _ in range(7):
        record(type=SecurityEvent.Type.LOGIN_FAILED, subject=person)

    summary = page_of(agent_client, conversation).content.decode().split("account-summary")[1]

    assert '<span class="status off">Off</span>' in summary
    assert summary.count("Wrong password") == 5


def test_open_a_recovery_case_from_the_chat(agent_client, agent, person, conversation):
    response = agent_client.post(
        reverse("support:open_case", args=[conversation.pk]),
        {"note": "Says she lost her phone"},
    )

    case = RecoveryCase.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("support:case_detail", args=[case.pk])
    assert case.account == person
    assert case.source == "chat"
    assert case.status == "awaiting_confirmation"
    event = SecurityEvent.objects.get(type=SecurityEvent.Type.CHAT_CASE_OPENED)
    assert event.actor == agent
    assert event.details["reason"] == "Says she lost her phone"


def test_opening_a_case_needs_a_note(agent_client, conversation):
    response = agent_client.post(reverse("support:open_case", args=[conversation.pk]), {})

    assert response.status_code == 400
    assert "Say why you open a case" in response.content.decode()
    assert not RecoveryCase.objects.exists()


def test_opening_a_case_by_get_is_not_allowed(agent_client, conversation):
    response = agent_client.get(reverse("support:open_case", args=[conversation.pk]))

    assert response.status_code == 405
    assert not RecoveryCase.objects.exists()


def test_an_agent_cannot_open_a_case_about_themselves(agent_client, agent):
    own = services.post_for_user(user=agent, body="my own question").conversation

    response = agent_client.post(
        reverse("support:open_case", args=[own.pk]), {"note": "me"}, follow=True
    )

    assert "You cannot open a case about your own account." in response.content.decode()
    assert not RecoveryCase.objects.exists()
    assert "Open a recovery case" not in page_of(agent_client, own).content.decode()


def test_an_agent_cannot_answer_a_conversation_about_their_own_account(agent_client, agent):
    own = services.post_for_user(user=agent, body="my own question").conversation
    case = make_case(email=agent.email, account=agent)

    for conversation in (own, case.conversation):
        response = agent_client.post(
            reverse("support:conversation", args=[conversation.pk]), {"body": "done"}
        )
        assert response.status_code == 400
        assert "about your own account" in response.content.decode()
    assert not Message.objects.filter(from_support=True).exists()


def test_inbox_lists_conversations_needing_a_reply_first(agent_client, agent, make_user):
    answered = services.post_for_user(
        user=make_user("bob@example.com", "Bob Answered"), body="thanks"
    ).conversation
    waiting = services.post_for_user(
        user=make_user("cy@example.com", "Cy Waiting"), body="<i>help</i>"
    ).conversation
    services.post(conversation=answered, body="you're welcome", author=agent, from_support=True)

    page = agent_client.get(reverse("support:inbox")).content.decode()

    assert page.index("Cy Waiting") < page.index("Bob Answered")
    assert "&lt;i&gt;help&lt;/i&gt;" in page
    assert "you&#x27;re welcome" in page
    assert page.count("Needs a reply") == 1
    assert reverse("support:conversation", args=[waiting.pk]) in page


def test_case_conversation_shows_the_case_and_claimed_email(agent_client):
    case = make_case(email="lost@example.com")
    make_case(email="silent@example.com")  # no message yet: not in the inbox
    services.post(conversation=case.conversation, body="I am locked out")

    inbox = agent_client.get(reverse("support:inbox")).content.decode()
    page = page_of(agent_client, case.conversation).content.decode()

    assert f"Recovery case #{case.pk} · lost@example.com" in inbox
    assert "silent@example.com" not in inbox
    summary = page.split('data-testid="account-summary"')[1]
    assert f"Recovery case #{case.pk}" in summary
    assert "lost@example.com" in summary
    assert reverse("support:case_detail", args=[case.pk]) in summary
    assert "Open a recovery case" not in page
    assert "Person" in page  # a locked-out person writes without an account name


def test_opening_a_case_from_a_case_conversation_is_refused(agent_client):
    case = make_case()
    services.post(conversation=case.conversation, body="hello")

    response = agent_client.post(
        reverse("support:open_case", args=[case.conversation.pk]),
        {"note": "x"},
        follow=True,
    )

    assert "This conversation already belongs to a case." in response.content.decode()
    assert RecoveryCase.objects.count() == 1


def test_support_page_shows_the_thread_for_support(agent_client, conversation):
    page = page_of(agent_client, conversation).content.decode()

    assert 'data-viewer="support"' in page
    assert f'data-poll-url="{reverse("support:poll", args=[conversation.pk])}"' in page
    assert page.count("<script") == 1


def test_inbox_is_paged(agent_client, make_user):
    for n in range(51):
        person = make_user(f"p{n}@example.com", f"Person {n}", password=None)  # no hashing
        services.post_for_user(user=person, body="hi")

    first = agent_client.get(reverse("support:inbox")).content.decode()
    second = agent_client.get(reverse("support:inbox"), {"page": 2}).content.decode()

    assert "Page 1 of 2" in first
    assert first.count("Needs a reply") == 50
    assert second.count("Needs a reply") == 1


def test_a_reply_on_a_case_conversation_emails_the_person_the_case_link(agent_client, make_user):
    person = make_user("lost@example.com", full_name="Lost Person")
    case = make_case(account=person)

    agent_client.post(
        reverse("support:conversation", args=[case.conversation.pk]),
        {"body": "What is your invoice number?"},
    )

    (notice,) = OutgoingEmail.objects.filter(to="lost@example.com")
    assert "invoice" not in notice.body
    assert "/case/" in notice.body
    assert case.conversation.messages.get().body == "What is your invoice number?"
