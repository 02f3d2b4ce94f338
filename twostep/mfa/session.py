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


RECOVERY_CODES_GRANT = "twostep_recovery_codes_grant"
GRANT_TTL_SECONDS = 300


def grant_first_recovery_codes(session: SessionBase, *, user: User) -> None:
    """Let the next visit to the recovery codes page issue the account's first set, once:
    set by the POST that turned 2FA on (the app's first code, or the first key). A GET
    alone never issues codes; a new set comes from its own page (regeneration_views)."""
    session[RECOVERY_CODES_GRANT] = {"user": user.pk, "at": time.time()}


def take_recovery_codes_grant(session: SessionBase, *, user: User) -> bool:
    """Whether the grant above was set for `user` less than GRANT_TTL_SECONDS ago (used
    up either way)."""
    grant = session.pop(RECOVERY_CODES_GRANT, None)
    if not isinstance(grant, dict) or grant.get("user") != user.pk:
        return False
    return time.time() - float(grant.get("at", 0)) <= GRANT_TTL_SECONDS
