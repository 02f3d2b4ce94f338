"""Account use cases: password changes. (The login itself is twostep.login.)"""

from typing import cast

from django.http import HttpRequest

from twostep.audit.models import SecurityEvent
from twostep.audit.services import record
from twostep.mail.services import queue_email

from . import devices, email_change, remembered, throttle
from .models import User
from .sessions import end_all_sessions, end_other_sessions


def record_password_change(
    *, request: HttpRequest, user: User, by_reset: bool, in_admin: bool = False
) -> int:
    """Audit and announce a password change (through Settings, a reset link, or the admin
    when `in_admin`: recorded with the agent as actor), clear the account's password
    throttle (whoever pushed it into its back-off guessed a password that no longer exists)
    and forget its trusted browsers, all but the one that made a change
    through Settings (it gets a new device cookie: pass the response to
    `devices.set_cookie`), forget its remembered browsers (every one: the next login asks
    for the second factor again) and void its pending email change
    (email_change.void_pending).
    Call inside the transaction that saved the password.

    Every other session is ended (all of them after a reset): Django already refuses a
    session logged in with the old password, and its row must not stay listed in Settings
    as if it were open. Returns how many were ended."""
    event = SecurityEvent.Type.PASSWORD_RESET if by_reset else SecurityEvent.Type.PASSWORD_CHANGED
    reason = "password reset" if by_reset else "password changed"
    if in_admin:
        event, reason = SecurityEvent.Type.PASSWORD_SET_IN_ADMIN, "password set in the admin"
    actor = cast(User, request.user) if in_admin else user
    throttle.clear_account(user.email)
    devices.forget(request=request, user=user, keep_this_browser=not by_reset)
    remembered.forget_all(user=user, request=request, reason=reason, actor=actor)
    email_change.void_pending(user=user, request=request, reason=reason)
    record(type=event, subject=user, actor=actor, request=request)
    queue_email(to=user.email, template="password_changed", context={"user": user})
    if by_reset:
        return end_all_sessions(user)
    # After update_session_auth_hash(): this browser's session has its new key, or none yet
    # (the fast path saves it at the end of the request), so it is not among these.
    return end_other_sessions(user, keep=request.session.session_key)
