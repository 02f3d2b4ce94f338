"""The owner's logged-in sessions learn of a pending reset through their own session data.

The session loader already reads the session row on every authenticated request, so a key
written into it at approval costs the page no extra statement (base.html shows the banner
from it). A login with the second factor cancels any pending reset, so only the sessions
that exist at approval need the key; closing the case removes it.

The rows are changed with a conditional UPDATE ... WHERE session_data = what was read,
never read-modify-write: a session the owner's own request saved meanwhile is re-read and
changed again (their data is never overwritten), and a session ended meanwhile (logout,
expiry) is skipped instead of failing the approval or the closing with it. An owner's
request that loaded its session before the key was written and saves it afterwards can
still drop the key (Django saves a session whole): the banner is a courtesy beside the
emails, which say the same.
"""

from collections.abc import Callable

from django.utils import timezone
from django.utils.formats import date_format

from twostep.accounts.models import User, UserSession

from .models import RecoveryCase

SESSION_KEY = "recovery_pending_reset"


# Attempts per session row when its data keeps changing under us.
MAX_TRIES = 5


def _rewrite(account: User | None, change: Callable[[dict], bool]) -> None:
    """Apply `change` (which edits a session's data, returning whether it did) to each of
    the account's live sessions, one conditional UPDATE per changed row."""
    store = UserSession.get_session_store_class()()
    live = UserSession.objects.filter(user=account, expire_date__gt=timezone.now())
    for key, text in list(live.values_list("session_key", "session_data")):
        for _ in range(MAX_TRIES):
            data = store.decode(text)
            if not change(data):
                break
            row = UserSession.objects.filter(session_key=key)
            if row.filter(session_data=text).update(session_data=store.encode(data)):
                break
            current = row.values_list("session_data", flat=True).first()
            if current is None:  # the session ended meanwhile
                break
            text = current


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


def clear_owner_sessions(account: User) -> None:
    """Take the pending reset out of the owner's sessions (the case closed)."""
    _rewrite(account, lambda data: data.pop(SESSION_KEY, None) is not None)
