"""The sizes of a bench run: the full one (`make bench`) and the quick one (`--quick`)."""

from __future__ import annotations

from dataclasses import dataclass

CODE_CHECKS = 1500  # accounts kept apart for timing the code check
# Of those, timing the recovery-code check (its own table, so the same accounts serve):
# an argon2id verification each, so fewer.
RECOVERY_CHECKS = 200


@dataclass
class Plan:
    seconds: float  # each load phase
    login_users: int
    replay_rounds: int
    replay_sessions: int
    scale_sizes: tuple[int, int]
    logins_wanted: int  # the login phases last long enough for about this many logins
    workers: int = 2
    concurrency: int = 4
    replay_workers: int = 4


FULL = Plan(
    seconds=12,
    login_users=3000,
    replay_rounds=200,
    replay_sessions=8,
    scale_sizes=(1_000, 1_000_000),
    logins_wanted=400,
)
QUICK = Plan(
    seconds=4,
    login_users=800,
    replay_rounds=20,
    replay_sessions=6,
    scale_sizes=(1_000, 20_000),
    logins_wanted=40,
)
