"""The email on a login from a browser the account has not used before, and its "This
wasn't me" link: every session signed out, the device cookies and remembered browsers
forgotten, then on to the password reset.

A browser is known when it holds the account's trusted device cookie, is a remembered
browser of the account, or the account has a live session from the same address and
User-Agent (devices.new_to_account: judged at the
password step and carried in the signed device cookie, so the code step costs no statement
more; a new browser costs the queued email). The very first login of an account (no
`last_login` yet) is not announced: there is nothing to compare it with.
"""

from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from twostep.audit.models import SecurityEvent
from twostep.audit.services import client_ip, describe_browser, record
from twostep.mail.links import site_url
from twostep.mail.services import queue_email

from . import devices, email_change, remembered
from .models import User
from .session_activity import USER_AGENT_LENGTH
from .sessions import end_all_sessions

SALT = "twostep.accounts.new_browser"
LINK_VALID = timedelta(days=7)


def notify_if_new(*, request: HttpRequest, user: User) -> bool:
    """Before the login completes: email the owner if this browser is new to the account
    (devices.new_to_account). Returns whether it was."""
    if not devices.new_to_account(request=request, user=user):
        return False
    ip, agent = client_ip(request), request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH]
    now = timezone.now()
    token = signing.dumps({"u": user.pk, "t": now.timestamp()}, salt=SALT)
    context = {
        "user": user,
        "when": now,
        "ip": ip,
        "browser": describe_browser(agent),
        "link": site_url(reverse("accounts:not_me", kwargs={"token": token})),
    }
    queue_email(to=user.email, template="new_browser", context=context)
    return True


def user_for(token: str) -> User | None:
    """The account a "This wasn't me" link names, if it is genuine, recent and unused (a
    link sent before the account last signed out everywhere is spent)."""
    try:
        data = signing.loads(token, salt=SALT, max_age=LINK_VALID)
        user_id, sent = int(data["u"]), float(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or _used_since(user, sent):
        return None
    return user


def _used_since(user: User, sent: float) -> bool:
    last = SecurityEvent.objects.filter(
        subject=user, type=SecurityEvent.Type.SIGNED_OUT_EVERYWHERE
    ).first()
    return last is not None and last.created_at.timestamp() >= sent


def sign_out_everywhere(*, request: HttpRequest, user: User, token: str) -> bool:
    """ "This wasn't me": end every session, forget every trusted and remembered browser of
    `user` and void its pending email change.
    False, changing nothing, when the link was used meanwhile."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if user_for(token) is None:  # looked at again under the lock: two clicks, one acts
            return False
        ended = end_all_sessions(locked)
        devices.forget(request=request, user=locked, keep_this_browser=False)
        remembered.forget_all(user=locked, request=request, reason="signed out everywhere")
        email_change.void_pending(user=locked, request=request, reason="signed out everywhere")
        record(
            type=SecurityEvent.Type.SIGNED_OUT_EVERYWHERE,
            subject=locked,
            request=request,
            sessions=ended,
        )
    return True
