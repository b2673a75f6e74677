"""Benchmarks behind `make bench`.

Each module in this package that defines ``run() -> Section`` is one section of the report.
`python -m proctor.bench [names…]` runs them (all by default) and merges their figures into
docs/benchmarks.json (flat keys, one per figure) and docs/benchmarks.md (one part per section).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


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
