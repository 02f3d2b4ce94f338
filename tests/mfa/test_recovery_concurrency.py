"""Two logins racing with the same recovery code: exactly one wins, on SQLite and on
PostgreSQL (the suite runs on both), because the code is used up by one conditional
UPDATE of used_at."""

import pytest

from tests.concurrency import at_once
from tests.helpers import enable_2fa, give_recovery_codes
from tests.mfa.conftest import events
from twostep.accounts.models import User
from twostep.audit.models import SecurityEvent
from twostep.mfa import recovery_codes
from twostep.mfa.models import RecoveryCode

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 5
RACERS = 4


def test_racing_logins_with_the_same_code_let_exactly_one_in(make_user):
    user = make_user()
    enable_2fa(user)
    codes = give_recovery_codes(user)
    for round_, code in enumerate(codes[:ROUNDS]):

        def login(code: str = code):
            # Each racer loads the account as the code step does: state and app preloaded.
            racer = User.objects.get_by_natural_key(user.email)
            return recovery_codes.verify_recovery_code(
                user=racer, code=code, request=None, purpose="login"
            )

        outcome = at_once(*[login] * RACERS)
        assert outcome.errors == [], round_
        verdicts = sorted((r.accepted, r.reason) for r in outcome.results)
        assert verdicts == [(False, "reused")] * (RACERS - 1) + [(True, "")], round_
        winner = next(r for r in outcome.results if r.accepted)
        assert winner.left == 10 - round_ - 1

    assert RecoveryCode.objects.filter(user=user, used_at__isnull=False).count() == ROUNDS
    assert len(events(user, SecurityEvent.Type.RECOVERY_CODE_USED)) == ROUNDS
    assert not events(user, SecurityEvent.Type.CODE_FAILED)
