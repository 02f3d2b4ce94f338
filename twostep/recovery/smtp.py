"""A small SMTP listener for the support address (aiosmtpd), for a mail server to relay to."""

import asyncio
import ipaddress

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import close_old_connections

from .inbound import MAX_MESSAGE_BYTES, receive


class SupportMailHandler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() != settings.TWOSTEP_SUPPORT_EMAIL.lower():
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # The ORM is synchronous: run it in a worker thread, off the event loop.
        raw = envelope.original_content or envelope.content
        await asyncio.to_thread(_store, raw, ip=sender_ip(session.peer))
        return "250 Message accepted"


def sender_ip(peer) -> str | None:
    """The connecting client's address: where the message came from, unless it is a relay
    of ours (TWOSTEP_INBOUND_SMTP_RELAYS: addresses or CIDR ranges), whose address says
    nothing about the sender. Compared as addresses: an IPv4-mapped IPv6 peer
    (::ffff:127.0.0.1) is its IPv4 address."""
    host = peer[0] if isinstance(peer, tuple) and peer else None
    try:
        address = ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in relay_networks()):
        return None
    return str(address)


def relay_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(relay.strip(), strict=False)
        for relay in settings.TWOSTEP_INBOUND_SMTP_RELAYS
        if relay.strip()
    ]


def _store(raw: bytes, *, ip: str | None) -> None:
    close_old_connections()
    try:
        receive(raw, ip=ip)
    finally:
        close_old_connections()


def controller(*, host: str, port: int) -> Controller:
    return Controller(
        SupportMailHandler(),
        hostname=host,
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
    )
