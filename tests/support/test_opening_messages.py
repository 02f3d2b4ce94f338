"""Every page that shows a conversation opens on its newest POLL_LIMIT messages (oldest of
them first), then polls for newer ones: a recovery case's pages, the person's and the
agent's, as much as the chat's (chat.pages.thread_context says it once)."""

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.recovery.conftest import last_email_path
from twostep.chat import services
from twostep.chat.models import Conversation, Message
from twostep.chat.services import POLL_LIMIT


def fill(conversation: Conversation) -> list[int]:
    """POLL_LIMIT + 5 messages in the conversation; the ids a page should open on."""
    now = timezone.now()
    Message.objects.bulk_create(
        Message(conversation=conversation, body=f"message {n}", created_at=now)
        for n in range(POLL_LIMIT + 5)
    )
    ids = list(conversation.messages.order_by("id").values_list("id", flat=True))
    return ids[-POLL_LIMIT:]


def shown(response) -> list[int]:
    assert response.status_code == 200
    return [message["id"] for message in response.context["conversation_messages"]]


def test_the_case_pages_open_on_the_newest_messages(agent, ada, case):
    newest = fill(case.conversation)
    person = Client()

    case_page = person.get(last_email_path(ada.email, "recovery:case"), follow=True)
    console_page = agent.get(reverse("support:case_detail", args=[case.pk]))
    inbox_page = agent.get(reverse("support:conversation", args=[case.conversation_id]))

    assert shown(case_page) == newest
    assert shown(console_page) == newest
    assert shown(inbox_page) == newest


def test_the_chat_pages_open_on_the_newest_messages(agent, ada):
    own = services.conversation_for_user(user=ada, create=True)
    assert own is not None
    newest = fill(own)
    person = Client()
    person.force_login(ada)

    help_page = person.get(reverse("chat:help"))
    console_page = agent.get(reverse("support:conversation", args=[own.pk]))

    assert shown(help_page) == newest
    assert shown(console_page) == newest
