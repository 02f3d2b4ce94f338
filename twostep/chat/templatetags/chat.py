"""{% load chat %}: what chat/thread.html needs to say who wrote a message."""

from typing import Any

from django import template

from twostep.chat.models import MAX_MESSAGE_LENGTH

register = template.Library()


@register.simple_tag
def chat_max_length() -> int:
    return MAX_MESSAGE_LENGTH


@register.filter
def chat_author(message: dict[str, Any], viewer: str) -> str:
    """The writer as the viewer calls them (chat.js says the same for polled messages)."""
    if viewer == "support":
        if message["from_support"]:
            return f"{message['author']} (support)" if message["author"] else "Support"
        return message["author"] or "Person"
    return "Support" if message["from_support"] else "You"


@register.filter
def chat_is_mine(message: dict[str, Any], viewer: str) -> bool:
    return bool(message["from_support"]) == (viewer == "support")
