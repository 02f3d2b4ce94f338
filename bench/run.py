"""`make bench`: twostep and django-two-factor-auth side by side, on this machine.

Every server listens on 127.0.0.1 only, every load loop is bounded in count and time, and
every server is stopped at the end. Logs each phase as it starts and ends, then prints a
table and writes bench/out/report.md and bench/out/results.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import code_check
import enumeration
import failover
import last_seen
import logins
import memory
import pages
import passkey_check
import peer_site
import recovery_check
import replay
import scale
import statements
from commands import psql, run
from deployment import (
    PASSWORD,
    PG,
    PROFILES,
    TWOSTEP_PYTHON,
    Deployment,
    TwostepSite,
    prepared,
)
from plan import CODE_CHECKS, FULL, QUICK, RECOVERY_CHECKS, Plan
from report import Report, log, phase


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = run(
        [
            TWOSTEP_PYTHON,
            "-c",
            "import django, argon2, psycopg; print(django.__version__,"
            " argon2.__version__, psycopg.__version__)",
        ]
    ).split()
    pg = psql("postgres", "SHOW server_version").strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "django": versions[0],
        "argon2_cffi": versions[1],
        "psycopg": versions[2],
        "postgresql": pg,
        "peer": "django-two-factor-auth "
        + next(
            line.split("==")[1]
            for line in peer_site.REQUIREMENTS.read_text().splitlines()
            if line.startswith("django-two-factor-auth==")
        ),
    }


def measure(report: Report, plan: Plan, quick: bool) -> None:
    """Every phase, in this order: later phases use the databases earlier ones seeded."""
    data = report.data
    for profile, params in PROFILES.items():
        with phase(f"logins per second against the hash rate ({profile})"):
            data[f"logins_{profile}"] = found = logins.measure(plan, params)
        report.add(logins.rows(found, profile=profile, params=params, concurrency=plan.concurrency))

    with phase("SQL statements per login and per page"):
        data["sql"] = counts = statements.measure(plan.login_users - 1)
    report.add(statements.login_rows(counts))

    with phase("authenticated page against a bare view"):
        data["pages"] = loaded = pages.measure(plan)
    report.add(pages.rows(loaded))
    report.add(statements.page_rows(counts))

    with phase("authenticated pages costing one statement with last seen kept"):
        data["last_seen"] = seen = last_seen.measure(quick)
    report.add(last_seen.rows(seen))

    counting = Deployment(TwostepSite, f"{PG}/bench_twostep", PROFILES["owasp-min"], True)
    with phase("failover under load"):
        data["failover"] = failover.in_make_bench(
            counting,
            workers=plan.workers,
            cookie_user=plan.login_users - 3,
            email=f"bench{plan.login_users - 4}@example.com",
            password=PASSWORD,
            seconds=plan.seconds,
        )
    report.row(*failover.row(data["failover"]))

    with phase("code check against a bare UPDATE"):
        data["code_check"] = check = code_check.measure(plan.login_users, CODE_CHECKS)
    report.add(code_check.rows(check))

    with phase("passkey check against a bare UPDATE"):
        data["passkey_check"] = passkey = passkey_check.measure(100 if quick else 600)
    report.add(passkey_check.rows(passkey))

    with phase("recovery-code check against a bare UPDATE, and its login's statements"):
        data["recovery_check"] = recovered = recovery_check.measure(
            plan.login_users, RECOVERY_CHECKS, login_user=plan.login_users - 6
        )
    report.add(recovery_check.rows(recovered))

    for db in ("postgresql", "sqlite"):
        with phase(f"replay under load ({db})"):
            data[f"replay_{db}"] = outcome = replay.measure(plan, db)
        report.add(replay.rows(outcome, plan=plan, db=db))

    with phase("scale"):
        data["scale"] = sizes = scale.measure(plan)
    report.add(scale.rows(sizes, plan=plan))

    deployment = Deployment(TwostepSite, f"{PG}/bench_twostep", PROFILES["owasp-min"])
    with phase("known against unknown addresses"):
        data["enumeration"] = found_forms = enumeration.in_make_bench(
            deployment, requests=40 if quick else 200, workers=plan.workers, log=log
        )
    report.add(enumeration.rows(found_forms))

    report.add(memory.rows({k: loaded[k]["rss_mib"] for k in loaded}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick look")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    started = time.monotonic()
    report = Report()
    report.data["machine"] = m = machine()
    report.data["plan"] = plan.__dict__
    log(f"machine: {m}")
    measure(report, plan, args.quick)
    report.data["elapsed_s"] = time.monotonic() - started
    report.write(
        f"Machine: {m['cores']} cores ({m['cpu']}), Python {m['python']}, Django {m['django']}, "
        f"argon2-cffi {m['argon2_cffi']}, psycopg {m['psycopg']}, PostgreSQL {m['postgresql']}; "
        f"peer: {m['peer']}. gunicorn sync workers, persistent connections (600 s) on both "
        f"sides. {'Quick run' if args.quick else 'Full run'} took {report.data['elapsed_s']:.0f} s."
    )


if __name__ == "__main__":
    with prepared():
        main()
