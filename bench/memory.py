"""Memory: the resident set of each gunicorn worker of a server, read after its load."""

from __future__ import annotations

import subprocess

from deployment import Server
from report import Row, fmt


def worker_rss_mib(server: Server) -> list[float]:
    """The resident set of each worker of `server`, in MiB."""
    out = subprocess.run(
        ["ps", "-o", "rss=", "--ppid", str(server.process.pid)], capture_output=True, text=True
    ).stdout
    return [int(v) / 1024 for v in out.split()]


def rows(rss: dict[str, list[float]]) -> list[Row]:
    return [
        (
            "resident memory per worker after load (MiB)",
            ", ".join(fmt(v, 0) for v in rss["twostep"]),
            ", ".join(fmt(v, 0) for v in rss["peer"]),
            "",
        )
    ]
