"""The share of authenticated pages that cost one statement while "last seen" is kept
(written at most every 5 minutes), timed inside twostep's own process with a clock moved by
time-machine (bench/twostep_tasks.py lastseen)."""

from __future__ import annotations

import json

from commands import run
from deployment import BENCH, PG, PROFILES, TWOSTEP_PYTHON, Deployment, TwostepSite
from report import Row

SESSIONS = {"full": 20, "quick": 5}
MINUTES = 30.0
MEAN_GAP = 10.0  # seconds between two pages of one session, on average


def measure(quick: bool) -> dict:
    """On bench_twostep (seeded by the login phases)."""
    deployment = Deployment(TwostepSite, f"{PG}/bench_twostep", PROFILES["owasp-min"])
    out = run(
        [
            TWOSTEP_PYTHON,
            BENCH / "twostep_tasks.py",
            "lastseen",
            "--sessions",
            str(SESSIONS["quick" if quick else "full"]),
            "--minutes",
            str(MINUTES),
            "--mean-gap",
            str(MEAN_GAP),
        ],
        env=deployment.env(),
    )
    return json.loads(out.strip().splitlines()[-1])


def rows(found: dict) -> list[Row]:
    return [
        (
            "authenticated pages costing exactly one statement, last seen kept "
            f"({found['sessions']} sessions, a page every ~{found['mean_gap_s']:.0f} s, "
            f"{found['minutes']:.0f} min)",
            f"{found['share'] * 100:.1f} % ({found['one_statement']} / {found['requests']})",
            "",
            "≥ 95 %",
        )
    ]
