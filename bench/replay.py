"""Replay under load: sessions that passed the password step for one account all submit the
same valid code at the same moment. Exactly one may log in."""

from __future__ import annotations

import threading

import client
import peer_site
from deployment import PASSWORD, PG, PROFILES, RUN, SITES, Deployment, Server, TwostepSite, totp_now
from plan import Plan
from report import Row


def race(server: Server, sessions: list[client.Session], code: str) -> list[bool | None]:
    """Every session submits `code` at the same moment; None marks an error."""
    barrier = threading.Barrier(len(sessions))
    results: list[bool | None] = [None] * len(sessions)

    def submit(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[i] = server.site.code_step(sessions[i], code)
        except Exception:  # noqa: BLE001 - an error, counted by the caller
            results[i] = None

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(sessions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def replay(deployment: Deployment, plan: Plan) -> dict:
    """N sessions pass the password step for one account, then send the same valid code at
    the same moment. Exactly one may log in. A new account each round."""
    deployment.seed(plan.replay_rounds + 1)
    rounds = {"exactly_one": 0, "more_than_one": 0, "none": 0, "errors": 0}
    with deployment.serve(workers=plan.replay_workers) as server:
        conns = [client.Connection(server.port) for _ in range(plan.replay_sessions)]
        for index in range(plan.replay_rounds):
            sessions = [c.session() for c in conns]
            ident = (
                f"bench{index}@example.com"
                if deployment.site is TwostepSite
                else peer_site.username(index)
            )
            ready = [server.site.password_step(s, ident, PASSWORD) for s in sessions]
            if not all(ready):
                rounds["errors"] += 1
                continue
            results = race(server, sessions, totp_now())
            if any(r is None for r in results):
                rounds["errors"] += 1
            wins = sum(1 for r in results if r)
            key = "exactly_one" if wins == 1 else "more_than_one" if wins > 1 else "none"
            rounds[key] += 1
        rounds["locked_errors_logged"] = server.errors_logged(r"database is locked")
        rounds["server_errors_logged"] = server.errors_logged(r"Traceback")
    return rounds


def measure(plan: Plan, db: str) -> dict:
    """Both sites on `db` ("postgresql" or "sqlite"), each on its own fresh database."""
    outcome = {}
    for key, site in SITES.items():
        url = (
            f"{PG}/bench_replay_{key}"
            if db == "postgresql"
            else f"sqlite:///{RUN.var}/replay_{key}.sqlite3"
        )
        outcome[key] = replay(Deployment(site, url, PROFILES["owasp-min"]), plan)
    return outcome


def rows(outcome: dict, *, plan: Plan, db: str) -> list[Row]:
    def cell(r: dict) -> str:
        return (
            f"{r['exactly_one']}/{plan.replay_rounds} exactly one; "
            f"{r['more_than_one']} with 2+; errors {r['errors']}, "
            f"'locked' {r['locked_errors_logged']}"
        )

    return [
        (
            f"replay, {plan.replay_sessions} sessions × {plan.replay_rounds} rounds "
            f"({db}, {plan.replay_workers} workers)",
            cell(outcome["twostep"]),
            cell(outcome["peer"]),
            "exactly one every round, no errors",
        )
    ]
