"""Chat fixtures: a logged-in person, a support agent whose session passed 2FA."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.helpers import add_membership, enable_2fa, verified_session
from twostep.accounts.models import User
from twostep.chat import services
from twostep.chat.models import Conversation, Message


@pytest.fixture
def person(make_user) -> User:
    user = make_user("ada@example.com", "Ada Lovelace")
    add_membership(user, "Analytical Engines", role="manager")
    add_membership(user, "Difference Club", role="member")
    return user


@pytest.fixture
def person_client(client: Client, person: User) -> Client:
    client.force_login(person)
    return client


@pytest.fixture
def agent(make_user) -> User:
    user = make_user("grace@example.com", "Grace Hopper", is_staff=True)
    enable_2fa(user)
    return user


@pytest.fixture
def agent_client(agent: User) -> Client:
    return verified_session(Client(), agent)


def say(client: Client, body: str):
    return client.post(reverse("chat:help"), {"body": body})


def stored(user: User) -> list[str]:
    return list(
        Message.objects.filter(conversation__user=user)
        .order_by("id")
        .values_list("body", flat=True)
    )


def conversation_of(user: User) -> Conversation | None:
    return services.conversation_for_user(user=user)
