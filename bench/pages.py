"""An authenticated page against a bare view of the same server, loaded by wrk."""

from __future__ import annotations

import re

from commands import run
from deployment import PG, PROFILES, SITES, Deployment
from memory import worker_rss_mib
from plan import Plan
from report import Row, fmt

WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk(port: int, path: str, seconds: float, cookie: str = "") -> dict:
    argv = ["wrk", "-t2", "-c4", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "5s"]
    if cookie:
        argv += ["-H", f"Cookie: {cookie}"]
    out = run(argv + [f"http://127.0.0.1:{port}{path}"])
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    latency = {p: float(v) * scale[u] for p, v, u in WRK_LATENCY.findall(out)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "req_per_s": rate,
        "p50_ms": latency.get("50"),
        "p99_ms": latency.get("99"),
        "non_2xx": int(bad.group(1)) if bad else 0,
    }


def measure(plan: Plan) -> dict:
    """Both sites: the bare view, then the page with a logged-in session's cookie, then the
    workers' memory."""
    pages = {}
    for key, site in SITES.items():
        deployment = Deployment(site, f"{PG}/bench_{key}", PROFILES["owasp-min"])
        with deployment.serve(plan.workers) as server:
            cookie = server.logged_in_cookie(plan.login_users - 2)
            bare = wrk(server.port, server.site.bare_page, plan.seconds)
            page = wrk(server.port, server.site.auth_page, plan.seconds, cookie)
            pages[key] = {"bare": bare, "auth": page, "rss_mib": worker_rss_mib(server)}
    return pages


def rows(pages: dict) -> list[Row]:
    shown: list[Row] = []
    for key in ("bare", "auth"):
        t, p = pages["twostep"][key], pages["peer"][key]
        shown.append(
            (
                f"{'bare view' if key == 'bare' else 'authenticated page'} req/s (p99 ms)",
                f"{fmt(t['req_per_s'], 0)} ({t['p99_ms']:.2f})",
                f"{fmt(p['req_per_s'], 0)} ({p['p99_ms']:.2f})",
                "",
            )
        )
    ratio = {k: pages[k]["auth"]["req_per_s"] / pages[k]["bare"]["req_per_s"] for k in pages}
    shown.append(
        (
            "authenticated page / bare view",
            f"{ratio['twostep']:.2f}",
            f"{ratio['peer']:.2f}",
            "≥ 0.5, p99 ≤ 3 ms",
        )
    )
    return shown
