"""Where and when each session was last seen, written at most every SEEN_EVERY.

A new session row gets the browser's address and User-Agent when it is made (sessions.py).
After that, a page writes "last seen" only when the row's stored time is SEEN_EVERY old: the
time comes with the session load (one statement, session_engine), so every other page still
costs that one statement. The UPDATE is conditional on the stored time, so two requests at
once write it once, and it never brings back a row that was ended meanwhile.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth import SESSION_KEY
from django.db import DatabaseError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from twostep.audit.services import client_ip

from .models import UserSession
from .sessions import SessionStore

logger = logging.getLogger(__name__)
SEEN_EVERY = timedelta(minutes=5)
USER_AGENT_LENGTH = 300


def touch(session: SessionStore, *, ip: str | None, user_agent: str) -> bool:
    """Write when (and from where) the logged-in session `session` loaded this request was
    seen, if its stored time is SEEN_EVERY old. Returns whether a statement ran."""
    key = session.loaded_key
    if key is None or key != session.session_key or not session.get(SESSION_KEY):
        return False  # not loaded, not logged in, or replaced in this request (log in/out)
    now = timezone.now()
    if session.last_seen_at is not None and now - session.last_seen_at < SEEN_EVERY:
        return False
    stale = Q(last_seen_at__isnull=True) | Q(last_seen_at__lte=now - SEEN_EVERY)
    UserSession.objects.filter(stale, session_key=key).update(
        last_seen_at=now, ip=ip, user_agent=user_agent
    )
    session.last_seen_at = now
    return True


class SessionActivityMiddleware:
    """Tells the session store which browser the request comes from, and has the session
    touched after the view. After Django's SessionMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if not isinstance(session, SessionStore):
            return self.get_response(request)
        ip = client_ip(request)
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH]
        session.client_ip, session.client_agent = ip, user_agent
        response = self.get_response(request)
        try:
            touch(session, ip=ip, user_agent=user_agent)
        except DatabaseError as error:  # "last seen" is not worth failing an answered page
            logger.warning("last seen not written: %s", type(error).__name__)
        return response
