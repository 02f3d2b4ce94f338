"""Inbound mail's origins: relays compared as addresses, one hourly limit for requests
with no client address, and requests for non-accounts kept cut short."""

import pytest

from tests.recovery.conftest import emails_to, receive_email
from tests.recovery.test_inbound import message
from twostep.recovery import inbound, intake
from twostep.recovery.smtp import sender_ip


@pytest.mark.parametrize(
    ("host", "relays", "expected"),
    [
        ("127.0.0.1", ["127.0.0.1"], None),
        ("::ffff:127.0.0.1", ["127.0.0.1", "::1"], None),
        ("10.20.30.40", ["10.0.0.0/8"], None),
        ("2001:db8::25", ["2001:db8::/32"], None),
        ("10.20.30.40", ["127.0.0.1"], "10.20.30.40"),
        ("::ffff:203.0.113.9", ["127.0.0.1"], "203.0.113.9"),
        ("192.0.2.1", ["192.0.2.10"], "192.0.2.1"),
    ],
    ids=["relay", "ipv4-mapped-relay", "cidr", "ipv6-cidr", "client", "ipv4-mapped", "other"],
)
def test_relays_are_compared_as_addresses_and_ranges(settings, host, relays, expected):
    settings.TWOSTEP_INBOUND_SMTP_RELAYS = relays

    assert sender_ip((host, 25)) == expected


def test_requests_with_no_client_address_share_an_hourly_limit(ada, settings, frozen):
    settings.TWOSTEP_RECOVERY_NO_IP_PER_HOUR = 3
    for n in range(3):
        assert inbound.receive(message(f"lost it {n}")).outcome == intake.RECEIVED

    over = inbound.receive(message("x" * 100_000, sender="stranger@example.com"))
    intake.process_requests()

    over.refresh_from_db()
    assert over.outcome == intake.RATE_LIMITED
    assert len(over.raw_message) <= intake.REFUSED_TEXT_LIMIT
    assert emails_to("stranger@example.com") == []
    from_an_ip = inbound.receive(message("lost it"), ip="203.0.113.5")
    assert from_an_ip.outcome == intake.RECEIVED  # the limit is on no address only
    frozen.shift(intake.RATE_WINDOW.total_seconds() + 1)
    assert inbound.receive(message("lost it again")).outcome == intake.RECEIVED


def test_a_request_for_an_unknown_address_is_kept_cut_short(db):
    request = receive_email(message("y" * 200_000, sender="stranger@example.com"))

    assert request.outcome == "no account for this address"
    assert len(request.raw_message) <= intake.REFUSED_TEXT_LIMIT
    assert len(request.explanation) <= intake.REFUSED_TEXT_LIMIT
