"""Recovery requests sent from either address within accounts.email_change.WATCH of an
email change are flagged for support; one from the old address after the change reaches the
account that left it (its owner may be the one locked out)."""

from datetime import datetime

from twostep.accounts import email_change
from twostep.accounts.models import EmailChange, User

from .cases import lock_account


def flag(
    email: str, *, at: datetime, account: User | None
) -> tuple[User | None, EmailChange | None]:
    """For the worker: the account a recovery request from `email` is about, and the email
    change it is flagged for. A request from an address the account left within the watch
    window reaches that account; call inside the worker's transaction (it locks the row)."""
    change = email_change.watched_change(email, at=at)
    if account is None and change is not None and change.status == EmailChange.Status.DONE:
        account = lock_account(change.user.email)
    return account, change
