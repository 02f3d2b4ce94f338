"""What every page that shows a conversation shares, whichever app serves it (the person's
help page, a recovery case's page, the support console): the messages it opens on, and the
answer to its polls."""

from typing import Any

from django.http import HttpRequest, JsonResponse

from . import services

BAD_AFTER = {"error": "`after` must be a message id (a whole number)."}


def thread_context(
    *, conversation_id: int | None, poll_url: str, post_url: str, viewer: str
) -> dict[str, Any]:
    """The context chat/thread.html takes. A page opens on the newest POLL_LIMIT messages
    (oldest of them first), then polls for newer ones: the one rule for every page."""
    return {
        "conversation_messages": (
            services.latest_messages(conversation_id=conversation_id) if conversation_id else []
        ),
        "poll_url": poll_url,
        "post_url": post_url,
        "viewer": viewer,
    }


def messages_json(request: HttpRequest, *, conversation_id: int) -> JsonResponse:
    """A poll's answer: the messages of the conversation after `?after=<id>`, or 400."""
    after = services.poll_position(request.GET.get("after"))
    if after is None:
        return JsonResponse(BAD_AFTER, status=400)
    return JsonResponse({"messages": services.messages_after(conversation_id, after)})
