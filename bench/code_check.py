"""The code check against a bare single-row UPDATE, timed inside twostep's own process
(bench/twostep_tasks.py codecheck)."""

from __future__ import annotations

import json

from commands import run
from deployment import BENCH, PG, PROFILES, TWOSTEP_PYTHON, Deployment, TwostepSite, settle
from report import Row, fmt


def time_code_check(deployment: Deployment, first_user: int, n: int) -> dict:
    """Medians of `n` verify_code calls and as many bare UPDATEs, from account `first_user`."""
    out = run(
        [
            TWOSTEP_PYTHON,
            BENCH / "twostep_tasks.py",
            "codecheck",
            "--first-user",
            str(first_user),
            "--n",
            str(n),
        ],
        env=deployment.env(),
    )
    result = json.loads(out.strip().splitlines()[-1])
    result["ratio"] = result["code_check_median_us"] / result["bare_update_median_us"]
    result["statement_ratio"] = result["statement_median_us"] / result["bare_update_median_us"]
    return result


def measure(first_user: int, n: int) -> dict:
    """On bench_twostep, settled first, with accounts no earlier phase logged in."""
    settle(f"{PG}/bench_twostep")
    deployment = Deployment(TwostepSite, f"{PG}/bench_twostep", PROFILES["owasp-min"])
    return time_code_check(deployment, first_user=first_user, n=n)


def rows(check: dict) -> list[Row]:
    bare = fmt(check["bare_update_median_us"], 0)
    return [
        (
            "code check statement / bare UPDATE (median µs)",
            f"{check['statement_ratio']:.2f} ({fmt(check['statement_median_us'], 0)} / {bare})",
            "",
            "≤ 1.2",
        ),
        (
            "whole verify_code / bare UPDATE (median µs)",
            f"{check['ratio']:.2f} ({fmt(check['code_check_median_us'], 0)} / {bare})",
            "",
            "decrypt + HMACs + the statement",
        ),
    ]
