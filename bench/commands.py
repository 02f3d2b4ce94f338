"""The programs the bench runs on this machine: any command, and psql as the superuser."""

from __future__ import annotations

import subprocess


def run(argv: list, env: dict[str, str] | None = None) -> str:
    """Run `argv` (30 minutes at most) and return its output; raise with its tail if it fails."""
    result = subprocess.run(
        [str(a) for a in argv], env=env, capture_output=True, text=True, timeout=1800
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def psql(database: str, *commands: str) -> str:
    """Run SQL commands as the postgres superuser on 127.0.0.1."""
    argv = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-qtA"]
    for command in commands:
        argv += ["-c", command]
    return run(argv)
