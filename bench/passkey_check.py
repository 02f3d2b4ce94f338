"""The passkey assertion check against a bare single-row UPDATE, its signature check
timed apart, and the SQL statements of a passkey login; measured inside twostep's own
process (bench/passkey_tasks.py)."""

from __future__ import annotations

import json

from commands import run
from deployment import BENCH, PG, PROFILES, TWOSTEP_PYTHON, Deployment, TwostepSite, settle
from report import Row, fmt

CHECKS = 600  # accounts with a passkey, made for the measure and removed after it


def measure(n: int = CHECKS) -> dict:
    """On bench_twostep, settled first."""
    settle(f"{PG}/bench_twostep")
    deployment = Deployment(TwostepSite, f"{PG}/bench_twostep", PROFILES["owasp-min"])
    out = run([TWOSTEP_PYTHON, BENCH / "passkey_tasks.py", "--n", str(n)], env=deployment.env())
    result = json.loads(out.strip().splitlines()[-1])
    bare, crypto = result["bare_update_median_us"], result["crypto_median_us"]
    result["ratio"] = result["check_median_us"] / bare
    # The target: within 1.5 bare UPDATEs plus the one signature verification.
    result["ratio_without_crypto"] = (result["check_median_us"] - crypto) / bare
    return result


def rows(check: dict) -> list[Row]:
    bare = fmt(check["bare_update_median_us"], 0)
    sql = check["statements"]
    return [
        (
            "passkey check, signature aside / bare UPDATE (median µs)",
            f"{check['ratio_without_crypto']:.2f} "
            f"({fmt(check['check_median_us'] - check['crypto_median_us'], 0)} / {bare})",
            "",
            "≤ 1.5",
        ),
        (
            "passkey signature verification alone (median µs)",
            fmt(check["crypto_median_us"], 0),
            "",
            "ECDSA P-256 (py_webauthn)",
        ),
        (
            "whole passkey check / bare UPDATE (median µs)",
            f"{check['ratio']:.2f} ({fmt(check['check_median_us'], 0)} / {bare})",
            "",
            "key SELECT + signature + (challenge DELETE with sign-count UPDATE)",
        ),
        (
            "SQL statements per passkey login",
            f"{sql['total']} (page {sql['login_page']}, options {sql['options']}, "
            f"answer {sql['answer']})",
            "",
            "fewer is better",
        ),
    ]
