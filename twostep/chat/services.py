"""Support chat: plain-text messages between a person and support, polled cheaply.

A message is plain text: it is stored as typed (line breaks normalized) and escaped
wherever it is shown, in templates and in chat.js (textContent). Polls read one indexed
range of the `message_poll` index (conversation, id > after).
"""

import re
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from twostep.accounts.models import User

from .models import MAX_MESSAGE_LENGTH, Conversation, Message

POLL_LIMIT = 100
# A person (not support) may post this many messages per FLOOD_WINDOW in one conversation.
FLOOD_LIMIT = 10
FLOOD_WINDOW = timedelta(minutes=1)


class MessageRefused(Exception):
    """The message is empty, too long, malformed or one too many; the text says which."""


def clean_body(body: str) -> str:
    """The text to store, or MessageRefused. Length is counted after CRLF -> LF, as the
    browser's textarea counts it."""
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise MessageRefused("Write a message first.")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise MessageRefused(
            f"Your message is {len(text):,} characters long; "
            f"keep it to {MAX_MESSAGE_LENGTH:,} characters or fewer."
        )
    # PostgreSQL cannot store NUL in text: refuse it here instead of failing on save.
    if "\x00" in text:
        raise MessageRefused("Your message contains characters that cannot be sent.")
    return text


OWN = Conversation.Kind.OWN


def conversation_for_user(*, user: User, create: bool = False) -> Conversation | None:
    """The logged-in person's own conversation with support (not a case's); with `create`,
    made on first use. A unique constraint keeps it one per person under concurrency."""
    if not create:
        return Conversation.objects.filter(user=user, kind=OWN).first()
    now = timezone.now()
    conversation, _ = Conversation.objects.get_or_create(
        user=user, kind=OWN, defaults={"created_at": now, "updated_at": now}
    )
    return conversation


def conversation_id_for_user(*, user: User) -> int | None:
    """The id of the person's own conversation, for a poll (one indexed query)."""
    return Conversation.objects.filter(user=user, kind=OWN).values_list("id", flat=True).first()


def new_case_conversation(*, now: datetime) -> Conversation:
    """An empty conversation for a case's page (Kind.CASE, no user): the app that owns the
    case keeps the link to it."""
    return Conversation.objects.create(kind=Conversation.Kind.CASE, created_at=now, updated_at=now)


def delete_case_conversation(conversation_id: int) -> None:
    """Delete a case's conversation and its messages, when the case that owned it goes."""
    Conversation.objects.filter(pk=conversation_id, kind=Conversation.Kind.CASE).delete()


def post(
    *,
    conversation: Conversation,
    body: str,
    author: User | None = None,
    from_support: bool = False,
) -> Message:
    """Add a message and mark the conversation as waiting for the other side.

    Raises MessageRefused for empty, over-long or malformed text, and when a person (not
    support) posts more than FLOOD_LIMIT messages within FLOOD_WINDOW.
    """
    text = clean_body(body)
    now = timezone.now()
    with transaction.atomic():
        if not from_support:
            # The conversation row's lock makes a person's simultaneous posts take turns,
            # so each count sees the messages the others stored: never past the limit.
            # (SQLite's IMMEDIATE transactions already take turns.)
            Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
            if _is_flooding(conversation, now=now):
                raise MessageRefused(
                    "You are sending messages too quickly. Wait a minute and retry."
                )
        message = Message.objects.create(
            conversation=conversation,
            author=author,
            from_support=from_support,
            body=text,
            created_at=now,
        )
        Conversation.objects.filter(pk=conversation.pk).update(
            updated_at=now, needs_reply=not from_support
        )
    return message


def _is_flooding(conversation: Conversation, *, now: datetime) -> bool:
    recent = Message.objects.filter(
        conversation=conversation, from_support=False, created_at__gte=now - FLOOD_WINDOW
    )
    return recent.count() >= FLOOD_LIMIT


def post_for_user(*, user: User, body: str) -> Message:
    """A logged-in person writes to support. The text is judged before anything is stored,
    so a refused message (MessageRefused) leaves no empty conversation behind."""
    clean_body(body)
    conversation = conversation_for_user(user=user, create=True)
    assert conversation is not None
    return post(conversation=conversation, body=body, author=user)


def poll_position(raw: str | None) -> int | None:
    """The `after` of a poll request as a message id (missing: 0), or None when it is not
    a plain number that fits a database id (a huge one would overflow SQLite)."""
    if raw is None or raw == "":
        return 0
    if not re.fullmatch(r"[0-9]{1,18}", raw):
        return None
    return int(raw)


MESSAGE_FIELDS = ("id", "body", "from_support", "created_at", "author__full_name")


def messages_after(
    conversation_id: int, after_id: int = 0, *, limit: int = POLL_LIMIT
) -> list[dict[str, Any]]:
    """What a poll returns: up to `limit` messages newer than `after_id`, oldest first, as
    plain data (one query on the message_poll index).

    Each item: id, body (raw text: escape it), from_support, author (the writer's name, ""
    when unknown, e.g. a locked-out person), at (local "dd Mon HH:MM"), iso. Who is "You"
    is for the page to say (chat/thread.html, chat.js), from its viewer.
    """
    found = Message.objects.filter(conversation_id=conversation_id, id__gt=after_id)
    return _newer(found, limit=limit)


def own_messages_after(*, user: User, after_id: int = 0) -> list[dict[str, Any]]:
    """messages_after for the person's own conversation, found by user in the same query
    (the conversation's unique index, then message_poll): nobody else's can come back."""
    found = Message.objects.filter(conversation__user=user, conversation__kind=OWN, id__gt=after_id)
    return _newer(found, limit=POLL_LIMIT)


def _newer(found: QuerySet[Message], *, limit: int) -> list[dict[str, Any]]:
    return [_as_data(row) for row in found.order_by("id").values(*MESSAGE_FIELDS)[:limit]]


def latest_messages(*, conversation_id: int, limit: int = POLL_LIMIT) -> list[dict[str, Any]]:
    """The last `limit` messages, oldest first, shaped like messages_after (one query): a
    page shows these, then polls for newer ones."""
    rows = (
        Message.objects.filter(conversation_id=conversation_id)
        .order_by("-id")
        .values(*MESSAGE_FIELDS)[:limit]
    )
    return [_as_data(row) for row in reversed(list(rows))]


def _as_data(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "body": row["body"],
        "from_support": row["from_support"],
        "author": row["author__full_name"] or "",
        "at": timezone.localtime(row["created_at"]).strftime("%d %b %H:%M"),
        "iso": row["created_at"].isoformat(),
    }
