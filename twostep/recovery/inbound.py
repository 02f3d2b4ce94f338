"""Inbound email to the support address: parse a raw RFC 5322 message into a recovery claim.

Used by the MTA pipe command (`receive_support_email`) and the SMTP listener
(`support_smtp_server`). The raw message is always kept; a message that cannot be read
becomes a rejected request, never an exception.
"""

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.html import strip_tags

from .models import RecoveryCase, RecoveryRequest
from .services import Claim, submit_request

MAX_MESSAGE_BYTES = 256 * 1024
_FIELD = re.compile(
    r"^\s*[-*•]?\s*(full\s*name|name|organi[sz]ations?(?:\s*\(s\))?|organi[sz]ation\(s\))\s*:\s*(.*)$",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*[-*•]\s+(.+)$")


class UnreadableMessage(Exception):
    pass


def receive(raw: bytes) -> RecoveryRequest:
    """Store and act on one inbound message. Never raises for bad input."""
    text = raw[:MAX_MESSAGE_BYTES].decode("utf-8", errors="replace")
    if len(raw) > MAX_MESSAGE_BYTES:
        return _rejected(text, f"rejected: larger than {MAX_MESSAGE_BYTES // 1024} KB")
    try:
        claim = parse(raw)
    except UnreadableMessage as error:
        return _rejected(text, f"rejected: {error}")
    return submit_request(source=RecoveryCase.Source.EMAIL, claim=claim, raw_message=text)


def _rejected(raw_text: str, outcome: str) -> RecoveryRequest:
    return RecoveryRequest.objects.create(
        source=RecoveryCase.Source.EMAIL,
        raw_message=raw_text,
        outcome=outcome,
        created_at=timezone.now(),
    )


def parse(raw: bytes) -> Claim:
    """Sender, name, organizations and explanation, as well as plain text allows."""
    try:
        message = message_from_bytes(raw, policy=policy.default)
        display_name, address = parseaddr(str(message.get("From", "")))
    except Exception as error:  # noqa: BLE001 - any parser failure is an unreadable message
        raise UnreadableMessage("the headers cannot be read") from error
    try:
        validate_email(address)
    except ValidationError as error:
        raise UnreadableMessage("no valid sender address") from error
    body = _body_text(message)  # type: ignore[arg-type]
    name, organizations, explanation = _fields(body)
    subject = str(message.get("Subject", "")).strip()
    if subject and subject.lower() not in explanation.lower():
        explanation = f"{subject}\n\n{explanation}".strip()
    return Claim(
        email=address,
        name=(name or display_name).strip()[:200],
        organizations="\n".join(organizations)[:1000],
        explanation=explanation[:5000],
    )


def _body_text(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        content = part.get_content()
    except Exception as error:  # noqa: BLE001
        raise UnreadableMessage("the body cannot be decoded") from error
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        content = strip_tags(content)
    return content


def _fields(body: str) -> tuple[str, list[str], str]:
    """Pick "Name: …" and "Organizations: …" (inline or as a bullet list) out of the body;
    the rest, without quoted replies and signatures, is the explanation."""
    name, organizations, rest = "", [], []
    collecting = False
    for line in body.splitlines():
        if line.rstrip() == "--":  # signature
            break
        if line.startswith(">"):  # quoted reply
            continue
        field = _FIELD.match(line)
        if field:
            label, value = field.group(1).lower(), field.group(2).strip()
            collecting = label.startswith("organ")
            if collecting:
                organizations += [v.strip() for v in re.split(r"[;,]", value) if v.strip()]
            else:
                name = value
            continue
        bullet = _BULLET.match(line)
        if collecting and bullet:
            organizations.append(bullet.group(1).strip())
            continue
        if collecting and not line.strip():
            continue  # blank lines inside the organizations list
        collecting = False
        rest.append(line)
    explanation = "\n".join(rest).strip()
    return name, organizations, explanation
