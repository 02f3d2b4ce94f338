"""The recovery-code check against a bare single-row UPDATE, its hash verification printed
separately (bench/twostep_tasks.py recoverycheck), and the SQL statements of a login with a
recovery code, counted like bench/statements.py counts the app-code login."""

from __future__ import annotations

import json

import client
from commands import run
from deployment import (
    BENCH,
    PASSWORD,
    PG,
    PROFILES,
    TWOSTEP_PYTHON,
    Deployment,
    TwostepSite,
    settle,
)
from report import Row, fmt


def _task(deployment: Deployment, *args: str) -> dict:
    out = run([TWOSTEP_PYTHON, BENCH / "twostep_tasks.py", *args], env=deployment.env())
    return json.loads(out.strip().splitlines()[-1])


def time_recovery_check(deployment: Deployment, first_user: int, n: int) -> dict:
    """Medians of `n` recovery-code checks, their UPDATE, bare UPDATEs and hash checks."""
    result = _task(deployment, "recoverycheck", "--first-user", str(first_user), "--n", str(n))
    bare, hashing = result["bare_update_median_us"], result["hash_median_us"]
    result["ratio"] = result["check_median_us"] / (bare + hashing)
    result["judge_ratio"] = result["judge_median_us"] / (bare + hashing)
    result["statement_ratio"] = result["statement_median_us"] / bare
    return result


def login_statements(deployment: Deployment, user_index: int) -> int:
    """SQL statements of one login with a recovery code (password step, code step)."""
    code = _task(deployment, "recoverycode", "--user", str(user_index))["code"]
    counting = Deployment(
        deployment.site, deployment.database_url, deployment.argon2, count_sql=True
    )
    with counting.serve(workers=1) as server:
        session = client.Connection(server.port).session()
        counts: list[int] = []
        original = session.request

        def counted(method, path, form=None):
            response = original(method, path, form)
            counts.append(int(response.headers.get("x-bench-sql", "0")))
            return response

        session.request = counted  # type: ignore[method-assign]
        site = server.site
        if not site.password_step(session, f"bench{user_index}@example.com", PASSWORD):
            raise RuntimeError("counting login failed at the password step")
        response = session.post(
            "/login/code/?method=recovery",
            {"csrfmiddlewaretoken": session.twostep_csrf, "recovery_code": code},  # type: ignore[attr-defined]
        )
        if response.status != 302 or "/login" in response.location:
            raise RuntimeError("counting login failed at the recovery code")
        return sum(counts)


def measure(first_user: int, n: int, login_user: int) -> dict:
    """On bench_twostep, settled first, with accounts no earlier phase logged in."""
    settle(f"{PG}/bench_twostep")
    deployment = Deployment(TwostepSite, f"{PG}/bench_twostep", PROFILES["owasp-min"])
    result = time_recovery_check(deployment, first_user=first_user, n=n)
    result["per_login"] = login_statements(deployment, login_user)
    return result


def rows(check: dict) -> list[Row]:
    bare, hashing = fmt(check["bare_update_median_us"], 0), fmt(check["hash_median_us"], 0)
    return [
        (
            "recovery code UPDATE / bare UPDATE (median µs)",
            f"{check['statement_ratio']:.2f} ({fmt(check['statement_median_us'], 0)} / {bare})",
            "",
            "≤ 1.2",
        ),
        (
            "recovery-code check (row, hash, UPDATE) / (bare UPDATE + argon2id) (median µs)",
            f"{check['judge_ratio']:.2f}"
            f" ({fmt(check['judge_median_us'], 0)} / ({bare} + {hashing}))",
            "",
            "≤ 1.5",
        ),
        (
            "whole verify_recovery_code / (bare UPDATE + argon2id) (median µs)",
            f"{check['ratio']:.2f} ({fmt(check['check_median_us'], 0)} / ({bare} + {hashing}))",
            "",
            "with the use's events and email",
        ),
        ("argon2id verification of one recovery code (median µs)", hashing, "", "printed apart"),
        ("SQL statements per recovery-code login", str(check["per_login"]), "", "fewer is better"),
    ]
