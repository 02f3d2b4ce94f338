"""A software WebAuthn authenticator, written from the spec (level 3, sections 6.1 and
6.5): an ECDSA P-256 key pair, "none" attestation, and the client's part (clientDataJSON,
the JSON a browser's PublicKeyCredential.toJSON() gives). It answers the options the
server sends, so tests exercise the real ceremonies; its knobs (origin, RP ID, counter,
user verification) produce the answers a server must refuse.

The browser tests use Chromium's own virtual authenticator instead (tests/e2e).
"""

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction
from django.utils import timezone
from webauthn.helpers import encode_cbor

from twostep.mfa.factors import recount_methods
from twostep.mfa.models import SecurityKey
from twostep.mfa.webauthn.registration import user_handle

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes.fromhex("00000000000000000000000000000000")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Authenticator:
    """One credential on one authenticator, for the site at `origin` with RP ID `rp_id`.

    `counter_step` 0 imitates the passkeys that never count (synced ones); `resident`
    whether it makes a discoverable credential (credProps.rk), `backup` a synced passkey.
    """

    origin: str
    rp_id: str
    counter: int = 0
    counter_step: int = 1
    resident: bool = True
    user_verified: bool = True
    backup: bool = False
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    user_handle: bytes | None = None

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return encode_cbor(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _flags(self, *extra: int) -> int:
        flags = UP | (UV if self.user_verified else 0)
        if self.backup:
            flags |= BE | BS
        for bit in extra:
            flags |= bit
        return flags

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": challenge,
                "origin": origin or self.origin,
                "crossOrigin": False,
            },
            separators=(",", ":"),
        ).encode()

    def create(self, options: dict, *, origin: str | None = None, rp_id: str | None = None) -> str:
        """Answer navigator.credentials.create() `options` (the server's JSON)."""
        self.user_handle = unb64url(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attested = AAGUID + struct.pack(">H", len(self.credential_id)) + self.credential_id
        auth_data = (
            hashlib.sha256((rp_id or self.rp_id).encode()).digest()
            + bytes([self._flags(AT)])
            + struct.pack(">I", self.counter)
            + attested
            + self.cose_public_key()
        )
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {"credProps": {"rk": self.resident}},
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["usb", "nfc"],
                },
            }
        )

    def get(
        self,
        options: dict,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
        user_handle: bytes | None = None,
    ) -> str:
        """Answer navigator.credentials.get() `options`; the counter moves by counter_step
        unless `counter` is given."""
        if counter is None:
            self.counter += self.counter_step
            counter = self.counter
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (
            hashlib.sha256((rp_id or self.rp_id).encode()).digest()
            + bytes([self._flags()])
            + struct.pack(">I", counter)
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        handle = user_handle if user_handle is not None else self.user_handle
        response = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
            "userHandle": b64url(handle) if self.resident and handle else None,
        }
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "authenticatorAttachment": "cross-platform",
                "clientExtensionResults": {},
                "response": response,
            }
        )


def give_key(user, authenticator: Authenticator, name: str = "YubiKey") -> SecurityKey:
    """Store `authenticator`'s credential as a key of `user`, as registration would (user
    handle, methods recounted), without the ceremony."""
    authenticator.user_handle = user_handle(user)
    with transaction.atomic():
        key = SecurityKey.objects.create(
            user=user,
            name=name,
            credential_id=authenticator.id,
            public_key=authenticator.cose_public_key(),
            sign_count=authenticator.counter,
            transports=["usb"],
            discoverable=authenticator.resident,
            created_at=timezone.now(),
        )
        recount_methods(user)
    user.refresh_from_db()  # drop the cached state: it was recounted
    return key
