"""The half-logged-in state between a correct password and a correct code.

It lives in the session (and only there), carries the user id and an expiry, and is never
a login: Django's `login()` runs only after the second factor, so every other view sees an
anonymous visitor.
"""

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from twostep.accounts.models import User
from twostep.accounts.user_relations import with_relations
from twostep.mfa.recovery_codes import with_codes_left

SESSION_KEY = "twostep_pending_login"


def begin(request: HttpRequest, user: User, *, next_url: str) -> None:
    # A new session key: the pending state must not be fixable by whoever set the cookie.
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "user_id": user.pk,
        "until": timezone.now().timestamp() + settings.TWOSTEP_PENDING_LOGIN_SECONDS,
        "next": next_url,
    }


def pending_user(request: HttpRequest) -> User | None:
    """The user who passed the password step in this session, if not expired."""
    state = request.session.get(SESSION_KEY)
    if not state:
        return None
    if state["until"] < timezone.now().timestamp():
        clear(request)
        return None
    # With its authenticator, two-factor state and recovery codes left: the second step
    # judges a code and decides what follows without another query.
    users = with_codes_left(with_relations(User.objects.all()))
    return users.filter(pk=state["user_id"], is_active=True).first()


def next_url(request: HttpRequest) -> str:
    state = request.session.get(SESSION_KEY) or {}
    return state.get("next") or ""


def clear(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
