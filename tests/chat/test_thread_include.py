"""chat/thread.html is included by other apps' pages (the recovery case page): it must
render from its documented context alone, with no logged-in user."""

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from twostep.chat import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def case_conversation(agent):
    now = timezone.now()
    conversation = services.new_case_conversation(now=now)
    services.post(conversation=conversation, body="<b>I lost my phone</b>")
    services.post(conversation=conversation, body="We will help", author=agent, from_support=True)
    return conversation


def render(conversation, viewer: str) -> str:
    request = RequestFactory().get("/case/token/")  # no user, no session
    return render_to_string(
        "chat/thread.html",
        {
            "conversation_messages": services.messages_after(conversation.pk),
            "poll_url": "/case/token/messages/",
            "post_url": "/case/token/",
            "viewer": viewer,
        },
        request=request,
    )


def test_renders_for_a_locked_out_person_without_a_login(case_conversation):
    html = render(case_conversation, "person")
    last = case_conversation.messages.order_by("-id").first().pk

    assert 'data-poll-url="/case/token/messages/"' in html
    assert f'data-last-id="{last}"' in html
    assert 'data-viewer="person"' in html
    assert 'action="/case/token/"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "&lt;b&gt;I lost my phone&lt;/b&gt;" in html
    assert '<strong class="chat-author">You</strong>' in html
    assert '<strong class="chat-author">Support</strong>' in html
    assert "Grace Hopper" not in html  # the person sees "Support", not the agent's name


def test_names_the_writers_for_support(case_conversation):
    html = render(case_conversation, "support")

    assert '<strong class="chat-author">Person</strong>' in html
    assert '<strong class="chat-author">Grace Hopper (support)</strong>' in html
    assert html.count('class="chat-message mine"') == 1


def test_an_empty_thread_starts_polling_after_zero():
    html = render_to_string(
        "chat/thread.html",
        {"conversation_messages": [], "poll_url": "/p/", "post_url": "/q/", "viewer": "person"},
    )

    assert 'data-last-id="0"' in html
    assert "No messages yet." in html
