"""What the bench shows: progress lines on the terminal, the table, and the files it writes."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"

Row = tuple[str, str, str, str]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
    """Log when a phase starts and when it ends, with its length."""
    log(f"start: {name}")
    started = time.monotonic()
    yield
    log(f"done: {name} ({time.monotonic() - started:.0f} s)")


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def row(self, what: str, twostep: str, peer: str = "", note: str = "") -> None:
        self.rows.append((what, twostep, peer, note))
        log(f"{what}: twostep {twostep} | peer {peer} {note}")

    def add(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.row(*row)

    def markdown(self) -> str:
        lines = [
            "| measure | twostep | django-two-factor-auth | target / note |",
            "| --- | --- | --- | --- |",
        ]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines)

    def write(self, header: str) -> None:
        """Write bench/out/report.md and results.json, and print the header and table."""
        OUT.mkdir(exist_ok=True)
        table = self.markdown()
        (OUT / "report.md").write_text(f"{header}\n\n{table}\n")
        (OUT / "results.json").write_text(json.dumps(self.data, indent=2, default=str))
        print()
        print(header)
        print()
        print(table)
