"""SQL statements per login and per authenticated page, counted by the same middleware on
both sites (bench/sqlcount.py, the X-Bench-SQL header)."""

from __future__ import annotations

import client
from deployment import PASSWORD, PG, PROFILES, SITES, Deployment, totp_now
from report import Row


def sql_counts(deployment: Deployment, user_index: int) -> dict:
    """Statements per request, read from the X-Bench-SQL header of a counting server."""
    counting = Deployment(
        deployment.site, deployment.database_url, deployment.argon2, count_sql=True
    )
    with counting.serve(workers=1) as server:
        conn = client.Connection(server.port)
        session = conn.session()
        counts: list[int] = []
        original = session.request

        def counted(method, path, form=None):
            response = original(method, path, form)
            counts.append(int(response.headers.get("x-bench-sql", "0")))
            return response

        session.request = counted  # type: ignore[method-assign]
        if not server.site.login(session, user_index, PASSWORD, totp_now()):
            raise RuntimeError("counting login failed")
        login = sum(counts)
        counts.clear()
        session.get(server.site.auth_page)
        return {"per_login": login, "auth_page": counts[0]}


def measure(user_index: int) -> dict:
    """Both sites, on the databases the OWASP login phase left seeded."""
    return {
        key: sql_counts(Deployment(site, f"{PG}/bench_{key}", PROFILES["owasp-min"]), user_index)
        for key, site in SITES.items()
    }


def login_rows(counts: dict) -> list[Row]:
    t, p = counts["twostep"], counts["peer"]
    return [
        ("SQL statements per login", str(t["per_login"]), str(p["per_login"]), "fewer is better")
    ]


def page_rows(counts: dict) -> list[Row]:
    t, p = counts["twostep"], counts["peer"]
    return [
        ("DB statements per authenticated page", str(t["auth_page"]), str(p["auth_page"]), "≤ 1")
    ]
