"""A logged-in person writes to support from /help/ and follows the answers by polling."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.chat.conftest import conversation_of, say, stored
from twostep.chat import services
from twostep.chat.models import MAX_MESSAGE_LENGTH, Conversation, Message

pytestmark = pytest.mark.django_db

# The person's poll: the session (with its user, one query: twostep.accounts.session_engine) and
# the messages of their own conversation (one query). Pinned here.
PERSON_POLL_QUERIES = 2


def poll(client, after=None):
    data = {} if after is None else {"after": after}
    return client.get(reverse("chat:poll"), data)


def test_message_is_stored_and_shown_escaped(person_client, person):
    response = say(person_client, "<script>alert('hi')</script>\r\nSecond line")

    assert response.status_code == 302
    assert response.url == reverse("chat:help") + "#chat"
    assert stored(person) == ["<script>alert('hi')</script>\nSecond line"]
    assert conversation_of(person).needs_reply is True
    page = person_client.get(reverse("chat:help")).content.decode()
    assert "&lt;script&gt;alert(&#x27;hi&#x27;)&lt;/script&gt;" in page
    assert "<script>alert" not in page


def test_empty_message_is_refused_and_stores_nothing(person_client, person):
    response = say(person_client, "   \r\n  ")

    assert response.status_code == 400
    assert "Write a message first." in response.content.decode()
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()


def test_message_over_the_limit_is_refused_and_kept_for_editing(person_client, person):
    response = say(person_client, "x" * (MAX_MESSAGE_LENGTH + 1))

    assert response.status_code == 400
    page = response.content.decode()
    assert "keep it to 2,000 characters or fewer" in page
    assert "x" * (MAX_MESSAGE_LENGTH + 1) in page  # back in the box, to shorten
    assert not Message.objects.exists()


def test_message_at_the_limit_is_accepted(person_client, person):
    say(person_client, "x" * MAX_MESSAGE_LENGTH)

    assert stored(person) == ["x" * MAX_MESSAGE_LENGTH]


def test_100_kb_post_gets_an_error_not_a_500(person_client, person):
    response = say(person_client, "a" * 100_000)

    assert response.status_code == 400
    assert "keep it to 2,000 characters or fewer" in response.content.decode()
    assert not Message.objects.exists()


def test_post_over_the_request_size_limit_is_a_400(person_client, person, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    response = say(person_client, "a" * 100_000)

    assert response.status_code == 400
    assert not Message.objects.exists()


@pytest.mark.parametrize("body", ["nul \x00 inside", "\x00"])
def test_nul_character_is_refused(person_client, person, body):
    response = say(person_client, body)

    assert response.status_code == 400
    assert not Message.objects.exists()


def test_missing_field_is_refused(person_client, person):
    response = person_client.post(reverse("chat:help"), {"other": "x"})

    assert response.status_code == 400
    assert "Write a message first." in response.content.decode()


def test_one_conversation_per_person(person_client, person):
    say(person_client, "first")
    say(person_client, "second")

    assert Conversation.objects.filter(user=person).count() == 1
    assert stored(person) == ["first", "second"]


def test_too_many_messages_in_a_minute_are_refused(person_client, person):
    for n in range(services.FLOOD_LIMIT):
        assert say(person_client, f"message {n}").status_code == 302

    response = say(person_client, "one more")

    assert response.status_code == 400
    assert "too quickly" in response.content.decode()
    assert len(stored(person)) == services.FLOOD_LIMIT


def test_poll_returns_only_newer_messages(person_client, person, agent):
    say(person_client, "first")
    say(person_client, "second")
    first, second = Message.objects.order_by("id")
    services.post(
        conversation=conversation_of(person), body="reply", author=agent, from_support=True
    )

    response = poll(person_client, after=first.pk)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    found = response.json()["messages"]
    assert [m["body"] for m in found] == ["second", "reply"]
    assert [m["from_support"] for m in found] == [False, True]
    assert found[1]["author"] == "Grace Hopper"
    assert poll(person_client, after=found[-1]["id"]).json() == {"messages": []}
    assert len(poll(person_client).json()["messages"]) == 3


def test_poll_reads_messages_in_one_query(
    fast_sessions, person_client, person, django_assert_max_num_queries
):
    say(person_client, "first")
    after = Message.objects.get().pk
    say(person_client, "second")

    with django_assert_max_num_queries(PERSON_POLL_QUERIES):
        with CaptureQueriesContext(connection) as queries:
            response = poll(person_client, after=after)

    assert [m["body"] for m in response.json()["messages"]] == ["second"]
    message_queries = [q["sql"] for q in queries if '"chat_message"' in q["sql"]]
    assert len(message_queries) == 1, message_queries


def test_poll_before_any_message_is_empty(person_client):
    assert poll(person_client).json() == {"messages": []}


@pytest.mark.parametrize("after", ["abc", "1.5", "-1", "1e3", " 1", "9" * 40, "²"])
def test_poll_refuses_an_after_that_is_not_an_id(person_client, after):
    response = poll(person_client, after=after)

    assert response.status_code == 400
    assert "error" in response.json()


def test_poll_never_shows_someone_elses_conversation(client, person, make_user):
    other = make_user("eve@example.com", "Eve")
    services.post_for_user(user=person, body="Ada's secret question")
    client.force_login(other)

    assert poll(client).json() == {"messages": []}
    assert "Ada&#x27;s secret question" not in client.get(reverse("chat:help")).content.decode()


def test_person_cannot_open_support_pages_of_their_own_or_others_conversation(
    person_client, person
):
    conversation = services.post_for_user(user=person, body="hello").conversation
    for name in ("support:conversation", "support:poll"):
        url = reverse(name, args=[conversation.pk])
        assert person_client.get(url).status_code == 403
    assert person_client.get(reverse("support:inbox")).status_code == 403


def test_anonymous_poll_is_refused(client):
    assert poll(client).status_code == 403


def test_anonymous_help_page_offers_login_recovery_and_email(client):
    response = client.get(reverse("chat:help"))

    page = response.content.decode()
    assert response.status_code == 200
    assert f'href="{reverse("login:login")}?next=/help/"' in page
    assert f'href="{reverse("recovery:request")}"' in page
    assert "mailto:support@bpart.com" in page
    assert 'name="body"' not in page


def test_anonymous_post_stores_nothing(client):
    response = client.post(reverse("chat:help"), {"body": "hello"})

    assert response.status_code == 200
    assert not Message.objects.exists()


@pytest.mark.parametrize("logged_in", [False, True])
def test_need_help_button_is_in_the_header_of_every_page(client, person, logged_in):
    if logged_in:
        client.force_login(person)
    for url in ("/login/", "/password-reset/", "/profile/", "/help/"):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        header = response.content.decode().split("</header>")[0]
        assert 'href="/help/" data-testid="need-help">Need help?</a>' in header, url


def test_help_page_loads_chat_script_and_no_inline_script(person_client, person):
    say(person_client, "hello")

    page = person_client.get(reverse("chat:help")).content.decode()

    assert '<script src="/static/twostep/chat.js" defer></script>' in page
    assert page.count("<script") == 1
    assert " style=" not in page
    last = Message.objects.get().pk
    assert f'data-poll-url="{reverse("chat:poll")}"' in page
    assert f'data-last-id="{last}"' in page
    assert 'data-viewer="person"' in page
