"""Scale: twostep's login rate and code check with few and with many accounts (PostgreSQL,
seeded with COPY; logins pick random accounts across the table)."""

from __future__ import annotations

import random

from code_check import time_code_check
from deployment import PG, PROFILES, Deployment, TwostepSite, settle
from logins import login_load
from plan import CODE_CHECKS, Plan
from report import Row, fmt

WARM_UP_LOGINS = 100


def measure(plan: Plan) -> dict:
    """For each of plan.scale_sizes: logins per second and the median code check."""
    scale = {}
    for size in plan.scale_sizes:
        deployment = Deployment(TwostepSite, f"{PG}/bench_scale", PROFILES["owasp-min"])
        deployment.seed(size)
        picks = random.Random(size).sample(range(size // 2), min(size // 2, plan.login_users))
        warm_up, picks = picks[:WARM_UP_LOGINS], picks[WARM_UP_LOGINS:]
        with deployment.serve(plan.workers) as server:
            login_load(server, warm_up, concurrency=plan.concurrency, seconds=plan.seconds / 4)
            load = login_load(server, picks, concurrency=plan.concurrency, seconds=plan.seconds)
        # Code checks on accounts the logins did not touch, in the upper half of the table.
        settle(deployment.database_url)
        check = time_code_check(deployment, first_user=size // 2, n=min(CODE_CHECKS, size // 2))
        scale[size] = {
            "logins_per_s": load["logins_per_s"],
            "code_check_us": check["code_check_median_us"],
        }
    return scale


def rows(scale: dict, *, plan: Plan) -> list[Row]:
    small, large = plan.scale_sizes
    shown: list[Row] = []
    for key, label in (("logins_per_s", "logins/s"), ("code_check_us", "code check µs")):
        a, b = scale[small][key], scale[large][key]
        shown.append(
            (
                f"scale: {label} with {small:,} vs {large:,} accounts",
                f"{fmt(a)} vs {fmt(b)} ({(b - a) / a:+.0%})",
                "",
                "within 10 %",
            )
        )
    return shown
