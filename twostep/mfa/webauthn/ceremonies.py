"""The two WebAuthn ceremonies through py_webauthn: options for the browser, and the check
of what the authenticator answered. No database here: callers bring the challenge, the
stored key, and decide what a refusal costs (twostep.mfa.webauthn.assertions,
.registration)."""

import json
import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_client_data_json
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from . import config

TIMEOUT_MS = 5 * 60 * 1000  # as long as the challenge lives
MAX_ANSWER = 64 * 1024  # a real answer is a few kilobytes; more is not one
# A credential ID as base64url: at most 1023 bytes (WebAuthn), 1364 characters; the column
# holds 1400. Anything else (a lone surrogate, a NUL) never reaches the database.
CREDENTIAL_ID = re.compile(r"[A-Za-z0-9_-]{1,1400}")
TRANSPORTS = frozenset(t.value for t in AuthenticatorTransport)


class Refused(Exception):
    """An answer that cannot be accepted. `reason` names why, for the audit log; `message`
    is safe to show the person."""

    def __init__(self, reason: str, message: str):
        super().__init__(reason)
        self.reason = reason
        self.message = message


def malformed() -> Refused:
    return Refused("malformed", _("Your browser sent an answer that could not be read. Try again."))


@dataclass(frozen=True)
class Answer:
    """An authenticator's answer as the browser posted it, read far enough to find the
    challenge and the credential it names (nothing in it is checked yet)."""

    data: dict[str, Any]
    credential_id: str
    challenge: bytes
    origin: str
    user_handle: bytes | None


def read_answer(raw: str) -> Answer:
    """Parse the JSON the browser posted (PublicKeyCredential.toJSON()). Raises Refused."""
    if not raw or len(raw) > MAX_ANSWER:
        raise malformed()
    try:
        data = json.loads(raw)
        response = data["response"]
        client_data = parse_client_data_json(base64url_to_bytes(response["clientDataJSON"]))
        credential_id = data["id"]
        handle = response.get("userHandle")
        user_handle = base64url_to_bytes(handle) if handle else None
    except Exception as error:  # untrusted input: whatever the parsers raise, it is malformed
        raise malformed() from error
    raw_id = data.get("rawId", credential_id)
    for value in (credential_id, raw_id):
        if not isinstance(value, str) or not CREDENTIAL_ID.fullmatch(value):
            raise malformed()
    return Answer(data, credential_id, client_data.challenge, client_data.origin, user_handle)


def _refusal(error: Exception, answer: Answer) -> Refused:
    """What a failed verification means, for the person and the audit log."""
    if answer.origin != config.origin():
        return Refused(
            "origin",
            _("The answer was made for another address than %(origin)s. Open it there.")
            % {"origin": config.origin()},
        )
    text = str(error)
    if "RP ID" in text:
        return Refused("rp_id", _("This security key answered for another site."))
    if "User verification" in text:
        return Refused(
            "user_verification",
            _("Your passkey did not check it was you (PIN, fingerprint or face). Try again."),
        )
    return Refused("invalid", _("Your security key's answer could not be verified. Try again."))


def known_transports(transports: object) -> list[str]:
    """The transport names WebAuthn defines, in the answer's order, each once; anything
    else the browser sent is dropped."""
    if not isinstance(transports, list):
        return []
    kept: list[str] = []
    for t in transports:
        if isinstance(t, str) and t in TRANSPORTS and t not in kept:
            kept.append(t)
    return kept


def descriptors(keys: list[tuple[str, list[str]]]) -> list[PublicKeyCredentialDescriptor]:
    """(credential ID, transports) pairs as the options list them."""
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(credential_id),
            transports=[AuthenticatorTransport(t) for t in known_transports(transports)] or None,
        )
        for credential_id, transports in keys
    ]


def registration_options(
    *,
    challenge: bytes,
    user_handle: bytes,
    name: str,
    display_name: str,
    exclude: list[tuple[str, list[str]]],
) -> dict[str, Any]:
    """Options for navigator.credentials.create(): attestation "none", user verification
    and a discoverable credential preferred (a passkey can later log in alone), the
    account's keys excluded, and credProps asked for (did it make a discoverable one?)."""
    options = generate_registration_options(
        rp_id=config.rp_id(),
        rp_name=config.rp_name(),
        user_id=user_handle,
        user_name=name,
        user_display_name=display_name or name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=descriptors(exclude),
    )
    data = json.loads(options_to_json(options))
    data["extensions"] = {"credProps": True}
    return data


@dataclass(frozen=True)
class NewCredential:
    """What registration stores of a verified credential."""

    credential_id: str
    public_key: bytes
    sign_count: int
    transports: list[str]
    aaguid: str
    backup_eligible: bool
    backed_up: bool
    discoverable: bool | None


def verify_registration(answer: Answer, *, challenge: bytes) -> NewCredential:
    """Check a create() answer against `challenge`, the origin and the RP ID. Raises Refused."""
    try:
        verified = verify_registration_response(
            credential=answer.data,
            expected_challenge=challenge,
            expected_rp_id=config.rp_id(),
            expected_origin=config.origin(),
        )
    except Exception as error:  # untrusted input: any parser or check failing refuses it
        raise _refusal(error, answer) from error
    response = answer.data.get("response") or {}
    extensions = answer.data.get("clientExtensionResults") or {}
    cred_props = extensions.get("credProps") if isinstance(extensions, dict) else None
    rk = cred_props.get("rk") if isinstance(cred_props, dict) else None
    transports = response.get("transports") if isinstance(response, dict) else None
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=known_transports(transports),
        aaguid=verified.aaguid,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
        discoverable=rk if isinstance(rk, bool) else None,
    )


def authentication_options(
    *, challenge: bytes, allow: list[tuple[str, list[str]]], user_verification: bool | None
) -> dict[str, Any]:
    """Options for navigator.credentials.get(). `allow` empty: any discoverable credential
    of this site (passwordless). `user_verification`: True required, None preferred."""
    options = generate_authentication_options(
        rp_id=config.rp_id(),
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=descriptors(allow),
        user_verification=UserVerificationRequirement.REQUIRED
        if user_verification
        else UserVerificationRequirement.PREFERRED,
    )
    return json.loads(options_to_json(options))


@dataclass(frozen=True)
class Assertion:
    new_sign_count: int
    backed_up: bool
    user_verified: bool


def verify_assertion(
    answer: Answer, *, challenge: bytes, public_key: bytes, require_user_verification: bool
) -> Assertion:
    """Check a get() answer's signature with the stored public key, and its challenge,
    origin and RP ID. The sign count is the caller's to judge (stored with the key, it must
    grow under a conditional UPDATE). Raises Refused."""
    try:
        verified = verify_authentication_response(
            credential=answer.data,
            expected_challenge=challenge,
            expected_rp_id=config.rp_id(),
            expected_origin=config.origin(),
            credential_public_key=public_key,
            credential_current_sign_count=0,  # judged by the caller, see the docstring
            require_user_verification=require_user_verification,
        )
    except Exception as error:  # untrusted input: any parser or check failing refuses it
        raise _refusal(error, answer) from error
    return Assertion(verified.new_sign_count, verified.credential_backed_up, verified.user_verified)
