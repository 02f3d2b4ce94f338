"""The owner's logged-in sessions learn of a pending reset through their own session data.

The session loader already reads the session row on every authenticated request, so a key
written into it at approval costs the page no extra statement (base.html shows the banner
from it). A login with the second factor cancels any pending reset, so only the sessions
that exist at approval need the key; closing the case removes it.
"""

from typing import Any

from django.utils import timezone
from django.utils.formats import date_format

from twostep.accounts.models import UserSession

from .models import RecoveryCase

SESSION_KEY = "recovery_pending_reset"


def _rewrite(account: Any, change) -> None:
    for session in UserSession.objects.filter(user=account, expire_date__gt=timezone.now()):
        store = session.get_session_store_class()()
        data = store.decode(session.session_data)
        if change(data):
            session.session_data = store.encode(data)
            session.save(update_fields=["session_data"])


def mark_owner_sessions(case: RecoveryCase) -> None:
    """Put the pending reset (case, when it is due) into each of the owner's sessions."""
    assert case.reset_due_at is not None
    pending = {
        "case": case.pk,
        "due": date_format(timezone.localtime(case.reset_due_at), "DATETIME_FORMAT"),
    }

    def add(data: dict) -> bool:
        data[SESSION_KEY] = pending
        return True

    _rewrite(case.account, add)


def clear_owner_sessions(account: Any) -> None:
    """Take the pending reset out of the owner's sessions (the case closed)."""
    _rewrite(account, lambda data: data.pop(SESSION_KEY, None) is not None)
