"""RFC 6238 TOTP (HMAC-SHA1, 6 digits, 30-second steps) as pure functions.

No Django here: the module is checked against the RFC's Appendix B vectors and oathtool.
Verification returns the *matched time step*, which the caller stores atomically to
refuse a second use of the same code.
"""

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

SECRET_BYTES = 20  # 160 bits, the length RFC 4226 recommends for HMAC-SHA1
PERIOD = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of the current one
DRIFT_REACH = 10  # steps searched to tell the person their clock is off


def generate_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 HOTP value of `counter` as a zero-padded decimal string."""
    mac = hmac.digest(key, struct.pack(">Q", counter), hashlib.sha1)
    offset = mac[-1] & 0x0F
    binary = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(unix_time: float, period: int = PERIOD) -> int:
    return int(unix_time // period)


def code_at(key: bytes, unix_time: float, digits: int = DIGITS) -> str:
    return hotp(key, time_step(unix_time), digits)


def matching_step(key: bytes, code: str, step: int, reach: int = WINDOW) -> int | None:
    """The step within `reach` of `step` whose code equals `code`, nearest first, or None."""
    candidates = sorted(range(step - reach, step + reach + 1), key=lambda s: (abs(s - step), s))
    for candidate in candidates:
        if candidate >= 0 and hmac.compare_digest(hotp(key, candidate), code):
            return candidate
    return None


def encode_secret(key: bytes) -> str:
    """Base32 without padding, as authenticator apps expect."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def decode_secret(text: str) -> bytes:
    cleaned = text.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def grouped(encoded: str, size: int = 4) -> str:
    """The manual-entry key in groups of four, easier to type from a screen."""
    return " ".join(encoded[i : i + size] for i in range(0, len(encoded), size))


def provisioning_uri(key: bytes, *, account: str, issuer: str) -> str:
    """Key Uri Format: otpauth://totp/Issuer:account?secret=...&issuer=..."""
    label = quote(f"{issuer}:{account}", safe=":@")
    query = urlencode(
        {
            "secret": encode_secret(key),
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": PERIOD,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def normalize_code(text: str) -> str | None:
    """'123456', '123 456' and '123-456' give '123456'; anything else gives None."""
    if len(text) > 40:
        return None
    cleaned = text.strip().replace(" ", "").replace("-", "")
    if len(cleaned) == DIGITS and cleaned.isascii() and cleaned.isdigit():
        return cleaned
    return None
