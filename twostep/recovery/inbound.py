"""Inbound email to the support address: parse a raw RFC 5322 message into a recovery claim.

Used by the MTA pipe command (`receive_support_email`) and the SMTP listener
(`support_smtp_server`). The raw message is always kept; a message that cannot be read
becomes a rejected request, never an exception.
"""

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr
from html.parser import HTMLParser

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from twostep.text import one_line

from .cases import Claim
from .intake import REFUSED_TEXT_LIMIT, submit_request
from .models import RecoveryCase, RecoveryRequest

MAX_MESSAGE_BYTES = 256 * 1024
# "Name: …", "Organizations: …", and the help centre's own wording: "Your full name: …",
# "The organization(s) you manage or work with: …".
_FIELD = re.compile(
    r"^\s*[-*•]?\s*(?:(?:your|my|the)\s+)?"
    r"(full\s*name|name|organi[sz]ations?(?:\s*\(s\))?)"
    r"(?:\s+(?:i|you|we)\s+[a-z ]{1,40})?\s*:\s*(.*)$",
    re.IGNORECASE,
)
_BULLET = re.compile(r"^\s*[-*•]\s+(.+)$")


class UnreadableMessage(Exception):
    pass


def receive(raw: bytes, *, ip: str | None = None) -> RecoveryRequest:
    """Store and act on one inbound message (`ip`: the sending client's, when known).
    Never raises for bad input."""
    text = _storable(raw[:MAX_MESSAGE_BYTES].decode("utf-8", errors="replace"))
    if len(raw) > MAX_MESSAGE_BYTES:
        return _rejected(text, f"rejected: larger than {MAX_MESSAGE_BYTES // 1024} KB", ip)
    try:
        claim = parse(raw)
    except UnreadableMessage as error:
        return _rejected(text, f"rejected: {error}", ip)
    return submit_request(source=RecoveryCase.Source.EMAIL, claim=claim, raw_message=text, ip=ip)


def _storable(text: str) -> str:
    """PostgreSQL text cannot hold NUL: keep the rest of the message as it came."""
    return text.replace("\x00", "\ufffd")


def _rejected(raw_text: str, outcome: str, ip: str | None) -> RecoveryRequest:
    """A refused message: only its beginning is kept, so a flood cannot fill the disk."""
    return RecoveryRequest.objects.create(
        source=RecoveryCase.Source.EMAIL,
        raw_message=raw_text[:REFUSED_TEXT_LIMIT],
        ip=ip,
        outcome=outcome,
        created_at=timezone.now(),
    )


def parse(raw: bytes) -> Claim:
    """Sender, name, organizations and explanation, as well as plain text allows."""
    try:
        message = message_from_bytes(raw, policy=policy.default)
        sender = str(message.get("From", ""))
        display_name, address = parseaddr(sender)
        subject = str(message.get("Subject", "")).strip()
    except Exception as error:  # noqa: BLE001 - any parser failure is an unreadable message
        raise UnreadableMessage("the headers cannot be read") from error
    try:
        validate_email(address)
    except ValidationError as error:
        raise UnreadableMessage("no valid sender address") from error
    body = _body_text(message)  # type: ignore[arg-type]
    name, organizations, explanation = _fields(body)
    if subject and subject.lower() not in explanation.lower():
        explanation = f"{subject}\n\n{explanation}".strip()
    return Claim(
        email=address,
        name=one_line(name or display_name)[:200],
        organizations=_storable("\n".join(organizations)[:1000]),
        explanation=_storable(explanation[:5000]),
        sender=_storable(sender[:300]),
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
        content = _html_text(content)
    return content


class _HTMLText(HTMLParser):
    """The text of an HTML body, one line per block or <br>, entities decoded; quoted
    replies (<blockquote>), scripts and styles left out."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol"}
    SKIP = {"blockquote", "script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "li" and not self.skipping:
            self.parts.append("- ")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def _html_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


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
