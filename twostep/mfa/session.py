"""The session's "verified with a second factor" state.

A login records whether it used the second factor; pages that need more than a password
(the admin, the support console, vouching) ask `verified_with_second_factor`. It lives in
mfa, below the login that writes it and the pages that read it.
"""

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
