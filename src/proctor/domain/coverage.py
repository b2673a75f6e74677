"""Covered media intervals: what of the lesson's video was verifiably watched."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from proctor.domain.model import Interval
from proctor.domain.policy import Policy
from proctor.domain.timeline import Mark


def covered_intervals(marks: Sequence[Mark], policy: Policy, duration: float) -> list[Interval]:
    """Media pieces watched between consecutive marks of one playing run, each no longer than
    the wall time it took (a jump ahead is never coverage), leaving out late telemetry and
    stretches with no event for longer than ``unverified_gap_s``."""
    max_rate = policy.max_rate
    gap_s = policy.unverified_gap_s
    join = policy.coverage_join_s
    pieces: list[Interval] = []
    # merge on the fly: honest playback makes each piece start where the last one ended
    cur_a = cur_b = 0.0
    have = False
    t0 = p0 = 0.0
    run0 = -1
    late0 = True
    for t1, p1, _seq, run1, late1 in marks:
        if run0 == run1 and not late0 and not late1:
            dt = t1 - t0
            adv = p1 - p0
            if adv > 0 and 0 < dt <= gap_s:
                limit = dt * max_rate
                end = p0 + (adv if adv < limit else limit)
                if have and cur_a <= p0 <= cur_b + join:
                    if end > cur_b:
                        cur_b = end
                else:
                    if have:
                        pieces.append((cur_a, cur_b))
                    cur_a, cur_b, have = p0, end, True
        t0, p0, run0, late0 = t1, p1, run1, late1
    if have:
        pieces.append((cur_a, cur_b))
    return union(pieces, join=join, lo=0.0, hi=duration)


def union(
    pieces: Iterable[Interval], *, join: float = 0.0, lo: float | None = None,
    hi: float | None = None,
) -> list[Interval]:
    """Sorted, merged intervals (pieces closer than ``join`` become one), clipped to [lo, hi]."""
    out: list[Interval] = []
    for a, b in sorted(pieces):
        if lo is not None and a < lo:
            a = lo
        if hi is not None and b > hi:
            b = hi
        if b <= a:
            continue
        if out and a <= out[-1][1] + join:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def measure(intervals: Iterable[Interval]) -> float:
    return sum(b - a for a, b in intervals)


def overlap(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersections of two sorted, disjoint interval lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        if hi > lo:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out
