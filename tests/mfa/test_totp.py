import pytest

from twostep.mfa import totp

# RFC 6238 Appendix B, SHA1 column (8 digits there; the last 6 are our 6-digit codes).
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("unix_time", "expected"), RFC_VECTORS)
def test_rfc6238_appendix_b_vectors(unix_time, expected):
    key = b"12345678901234567890"
    assert totp.hotp(key, totp.time_step(unix_time), digits=8) == expected
    assert totp.code_at(key, unix_time) == expected[-6:]


def test_secret_is_160_random_bits():
    first, second = totp.generate_secret(), totp.generate_secret()
    assert len(first) == 20 and first != second


def test_matching_step_finds_neighbours_only_within_reach():
    key, step = b"k" * 20, 1000
    for offset in (-1, 0, 1):
        assert totp.matching_step(key, totp.hotp(key, step + offset), step) == step + offset
    assert totp.matching_step(key, totp.hotp(key, step + 2), step) is None
    assert totp.matching_step(key, totp.hotp(key, step + 7), step, reach=10) == step + 7


@pytest.mark.parametrize("text", ["123456", "123 456", "123-456", " 123456 ", "12 34 56"])
def test_spaced_and_hyphenated_codes_are_the_same_code(text):
    assert totp.normalize_code(text) == "123456"


@pytest.mark.parametrize(
    "text", ["", "12345", "1234567", "12a456", "abcdef", "١٢٣٤٥٦", "１２３４５６", "1" * 100_000]
)
def test_malformed_codes_are_refused(text):
    assert totp.normalize_code(text) is None


def test_provisioning_uri_follows_key_uri_format():
    uri = totp.provisioning_uri(b"12345678901234567890", account="ada@example.com", issuer="Bpart")
    assert uri.startswith("otpauth://totp/Bpart:ada@example.com?")
    assert "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" in uri
    assert "issuer=Bpart" in uri
    assert "=" not in uri.split("secret=")[1].split("&")[0]


def test_secret_encoding_round_trips_and_groups_by_four():
    key = totp.generate_secret()
    encoded = totp.encode_secret(key)
    assert totp.decode_secret(totp.grouped(encoded)) == key
    assert all(len(group) == 4 for group in totp.grouped(encoded).split(" "))
