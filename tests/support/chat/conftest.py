"""The console's chat tests: the chat fixtures (a logged-in person, an agent whose session
passed 2FA), shared from tests/chat/conftest.py."""

from tests.chat.conftest import (  # noqa: F401 - fixtures, registered by import
    agent,
    agent_client,
    person,
    person_client,
)
