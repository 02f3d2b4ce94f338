"""The session's "verified with a second factor" state, and its one-time grant of recovery
codes.

A login records whether it used the second factor; pages that need more than a password
(the admin, the support console, vouching) ask `verified_with_second_factor`. It lives in
mfa, below the login that writes it and the pages that read it.
"""

import time
from typing import cast

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest

from twostep.accounts.models import User

from .factors import second_factor_on

SESSION_MFA_VERIFIED = "twostep_mfa_verified"


def mark_verified(session: SessionBase, *, verified: bool) -> None:
    """Record in the session whether its login used the second factor."""
    session[SESSION_MFA_VERIFIED] = verified


def marked_verified(session: SessionBase) -> bool:
    """The session's login used the second factor (whatever the account's 2FA is now)."""
    return session.get(SESSION_MFA_VERIFIED) is True


def verified_with_second_factor(request: HttpRequest) -> bool:
    """This session's login used the second factor, and 2FA is still on for the account."""
    if not request.user.is_authenticated or not marked_verified(request.session):
        return False
    return second_factor_on(cast(User, request.user))


SESSION_TURNED_ON_HERE = "twostep_mfa_turned_on_here"


def mark_turned_on_here(session: SessionBase) -> None:
    """Record that this session turned 2FA on (it set up the account's first method).

    That proves only the password (the factor is the one it just made), so the session is
    not marked verified: staff pages still wait for a login with the factor. Turning 2FA
    on ends every other session, so this one is the account's only session."""
    session[SESSION_TURNED_ON_HERE] = True


def may_add_factor(request: HttpRequest) -> bool:
    """Whether this session may add a method to the account: 2FA is off, its login used the
    second factor, or it is the session that turned 2FA on (the one that may go on to add
    a key after the app, or a second key)."""
    user = cast(User, request.user)
    if not second_factor_on(user):
        return True
    return marked_verified(request.session) or request.session.get(SESSION_TURNED_ON_HERE) is True


RECOVERY_CODES_GRANT = "twostep_recovery_codes_grant"
FIRST_SET, NEW_SET = "first", "new"
GRANT_TTL_SECONDS = 300


def grant_recovery_codes(session: SessionBase, *, user: User, kind: str) -> None:
    """Let the next visit to the recovery codes page issue a set, once: `FIRST_SET` from the
    POST that turned 2FA on, `NEW_SET` from a POST that proved a method (a security key's
    answer, which webauthn.js follows with a GET). A GET alone never issues codes."""
    session[RECOVERY_CODES_GRANT] = {"user": user.pk, "kind": kind, "at": time.time()}


def take_recovery_codes_grant(session: SessionBase, *, user: User) -> str | None:
    """The grant set above for `user` (FIRST_SET or NEW_SET), used up; None if there is
    none, it is another account's or older than GRANT_TTL_SECONDS."""
    grant = session.pop(RECOVERY_CODES_GRANT, None)
    if not isinstance(grant, dict) or grant.get("user") != user.pk:
        return None
    if time.time() - float(grant.get("at", 0)) > GRANT_TTL_SECONDS:
        return None
    kind = grant.get("kind")
    return kind if kind in (FIRST_SET, NEW_SET) else None
