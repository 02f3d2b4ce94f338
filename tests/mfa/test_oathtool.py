"""Our TOTP module against two independent implementations: oathtool (C) and pyotp."""

import random
import shutil
import subprocess
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from twostep.mfa import totp

SEED = 6238
CASES = 30
# Up to the year 2400: well past 2038, where a 32-bit time_t would wrap.
LATEST = int(datetime(2400, 1, 1, tzinfo=UTC).timestamp())


def _cases() -> list[tuple[bytes, int]]:
    rng = random.Random(SEED)
    cases = []
    for index in range(CASES):
        # Mostly our 160-bit secrets; a few other lengths authenticator apps also accept.
        length = (15, 16, 32)[index % 3] if index % 5 == 0 else totp.SECRET_BYTES
        cases.append((rng.randbytes(length), rng.randrange(0, LATEST)))
    return cases


CROSS_CASES = _cases()
CASE_IDS = [f"{len(key)}B-at-{unix_time}" for key, unix_time in CROSS_CASES]


@pytest.fixture(scope="module")
def oathtool() -> str:
    path = shutil.which("oathtool")
    if path is None:  # a skip would pass as green: `make test` installs it
        pytest.fail("oathtool is required: apt-get install oathtool")
    return path


def oathtool_code(oathtool: str, key: bytes, unix_time: int, window: int = 0) -> list[str]:
    moment = datetime.fromtimestamp(unix_time, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    result = subprocess.run(
        [oathtool, "--totp", f"--window={window}", "-b", totp.encode_secret(key), "--now", moment],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return result.stdout.split()


@pytest.mark.parametrize(("key", "unix_time"), CROSS_CASES, ids=CASE_IDS)
def test_codes_match_oathtool_for_random_secrets_and_times(oathtool, key, unix_time):
    assert oathtool_code(oathtool, key, unix_time) == [totp.code_at(key, unix_time)]


@pytest.mark.parametrize(("key", "unix_time"), CROSS_CASES, ids=CASE_IDS)
def test_codes_match_pyotp_for_random_secrets_and_times(key, unix_time):
    assert pyotp.TOTP(totp.encode_secret(key)).at(unix_time) == totp.code_at(key, unix_time)


def test_next_steps_match_oathtool_window(oathtool):
    key, unix_time = CROSS_CASES[1]
    step = totp.time_step(unix_time)
    expected = [totp.hotp(key, s) for s in range(step, step + 3)]
    assert oathtool_code(oathtool, key, unix_time, window=2) == expected


def test_the_step_boundary_is_where_oathtool_changes_code(oathtool):
    key = CROSS_CASES[2][0]
    boundary = 59_000_000 * totp.PERIOD
    assert oathtool_code(oathtool, key, boundary - 1) == [totp.code_at(key, boundary - 1)]
    assert oathtool_code(oathtool, key, boundary) == [totp.code_at(key, boundary)]
    assert totp.code_at(key, boundary - 1) == totp.hotp(key, 59_000_000 - 1)


def test_neighbour_codes_we_accept_are_the_ones_pyotp_accepts():
    for key, unix_time in CROSS_CASES:
        step = totp.time_step(unix_time)
        for offset in range(-3, 4):
            code = totp.hotp(key, step + offset)
            ours = totp.matching_step(key, code, step) is not None
            theirs = pyotp.TOTP(totp.encode_secret(key)).verify(
                code, for_time=unix_time, valid_window=1
            )
            assert ours == theirs, (key, unix_time, offset)


def test_provisioning_uri_is_read_back_by_pyotp():
    key = CROSS_CASES[0][0]
    uri = totp.provisioning_uri(key, account="ada+2fa@example.com", issuer="Bpart")
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.byte_secret() == key
    assert (parsed.issuer, parsed.name) == ("Bpart", "ada+2fa@example.com")
    assert (parsed.digits, parsed.interval) == (totp.DIGITS, totp.PERIOD)
    assert parse_qs(urlparse(uri).query)["algorithm"] == ["SHA1"]
