"""A real SMTP server (aiosmtpd) on 127.0.0.1, and the settings that send to it."""

import asyncio
import email
import socket
from collections.abc import Callable
from email.message import Message

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """An aiosmtpd handler that keeps every message it receives. With `delay` it is a slow
    server: it keeps the message, then takes `delay` seconds to answer (other sessions go on
    meanwhile), so a client that dies in between leaves a delivered message behind.
    `on_message`, if set, is called (in the server's thread) as each message arrives;
    `refused`, `data_reply` and `mail_from_reply` make it refuse recipients, messages or
    our sender address."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.delay = 0.0
        self.on_message: Callable[[], None] | None = None
        self.refused: dict[str, str] = {}  # recipient: the reply refusing it
        self.data_reply = "250 Message accepted for delivery"
        self.mail_from_reply = "250 OK"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not self.mail_from_reply.startswith("250"):
            return self.mail_from_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return self.mail_from_reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return self.refused[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if not self.data_reply.startswith("250"):
            return self.data_reply
        self.envelopes.append(envelope)
        if self.on_message is not None:
            self.on_message()
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.data_reply

    @property
    def messages(self) -> list[Message]:
        return [email.message_from_bytes(e.original_content) for e in self.envelopes]


def free_port() -> int:
    """A port nothing listens on (the OS just handed it out and it was closed again)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    """Start and stop a listener on a fixed port, so a test can stage an outage."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.inbox, hostname="127.0.0.1", port=self.port, server_hostname="smtp.test"
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(settings):
    """Django set up to send over SMTP to 127.0.0.1:<port>; the server is not started."""
    server = SMTPServer(free_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()
