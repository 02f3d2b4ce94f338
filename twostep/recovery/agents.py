"""The one rule on who acts for support: an agent never acts on their own account, not on
a case about it, not in a conversation about it: another agent does. Every support action
(recovery's services, the console's chat replies) and every page that warns of it asks
may_act_on."""

from twostep.accounts.models import User

from .cases import RecoveryError
from .models import RecoveryCase


def may_act_on(*, agent: User, account_id: int | None) -> bool:
    """Whether `agent` may act for support on the account `account_id` (None: no account,
    e.g. a case for an address that is no account's)."""
    return account_id is None or account_id != agent.pk


def guard_agent(case: RecoveryCase, actor: User) -> None:
    """Raises RecoveryError when the case is about the agent's own account."""
    if not may_act_on(agent=actor, account_id=case.account_id):
        raise RecoveryError("You cannot act on a case about your own account.")
