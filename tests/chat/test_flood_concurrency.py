"""The flood limit holds when a person's posts arrive at the same moment: each thread has
its own database connection, as app processes behind a load balancer would."""

import pytest

from tests.concurrency import at_once
from twostep.chat import services
from twostep.chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)

POSTS = 3 * services.FLOOD_LIMIT


def test_concurrent_posts_never_pass_the_flood_limit(person):
    conversation = services.conversation_for_user(user=person, create=True)
    assert conversation is not None

    def post(n: int):
        return lambda: services.post(conversation=conversation, body=f"hi {n}", author=person)

    errors = at_once(*[post(n) for n in range(POSTS)]).errors

    assert Message.objects.filter(conversation=conversation).count() == services.FLOOD_LIMIT
    assert len(errors) == POSTS - services.FLOOD_LIMIT
    assert all(isinstance(error, services.MessageRefused) for error in errors)
