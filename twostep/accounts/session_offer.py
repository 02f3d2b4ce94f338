"""After a change to the second factors: offer "Log out everywhere else" on the page the
person lands on (Settings), when the account has other sessions.

The change (twostep.mfa.factors) marks its session once it commits; Settings takes the
mark once. A
password change needs no offer: it ends the other sessions itself (services.py), and
Django refuses any session logged in with the old password anyway.
"""

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils import timezone

from .models import User, UserSession

OFFER = "twostep_offer_end_others"


def offer_end_others(session: SessionBase) -> None:
    session[OFFER] = True


def take_offer(request: HttpRequest, user: User) -> bool:
    """Whether to offer "Log out everywhere else" now: the session was marked (the mark is
    used up) and the account has another live session."""
    if not request.session.pop(OFFER, False):
        return False
    live = UserSession.objects.filter(user=user, expire_date__gt=timezone.now())
    return live.exclude(session_key=request.session.session_key or "").exists()
