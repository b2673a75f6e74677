"""Benchmarks behind `make bench`.

Each module in this package that defines ``run() -> Section`` is one section of the report.
`python -m proctor.bench [names…]` runs them (all by default) and merges their figures into
docs/benchmarks.json (flat keys, one per figure) and docs/benchmarks.md (one part per section).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Section:
    """What one benchmark module reports: flat figures and a Markdown part for people."""

    title: str
    figures: dict[str, float | int | str] = field(default_factory=dict)
    markdown: str = ""


def median_rate(fn: Callable[[], int], repeats: int = 5) -> tuple[float, list[float]]:
    """Run ``fn`` (which returns how many items it processed) and give the median items/s."""
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates), rates


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s() -> float | None:
    """CPU seconds used so far by every PostgreSQL process of this machine (backends, WAL
    writer, checkpointer, autovacuum), or None where /proc shows none (a remote server).
    A backend that exits between two readings takes its CPU with it: keep connections open
    across what is measured."""
    total, seen = 0.0, False
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "postgres":
                total += process_cpu_s(int(comm.parent.name))
                seen = True
        except (OSError, ValueError):  # gone meanwhile
            continue
    return total if seen else None
