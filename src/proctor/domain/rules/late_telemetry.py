"""LATE_TELEMETRY: playback reported long after it happened cannot have been checked live
(no challenge could interrupt it), so it earns no credit; more than a little of it means the
session was fabricated or replayed, e.g. a whole session uploaded at the end."""

from __future__ import annotations

from proctor.domain.rules.base import LATE_TELEMETRY, Findings, RuleContext


def late_playback(ctx: RuleContext) -> Findings:
    out = Findings()
    total = 0.0
    first: tuple[float, int] | None = None
    last: tuple[float, int] | None = None
    for t0, t1, _h, _b, late, _thr, seq0, seq1 in ctx.timeline.spans:
        if late:
            total += t1 - t0
            if first is None:
                first = (t0, seq0)
            last = (t1, seq1)
    pol = ctx.policy
    if first is not None and last is not None and total > pol.late_playback_tolerance_s:
        out.flag(LATE_TELEMETRY, first[0], last[0],
                 f"{total:.0f} s of playback reached the server more than "
                 f"{pol.late_telemetry_s:.0f} s after it happened",
                 [{"from_seq": first[1], "to_seq": last[1], "late_playback_s": round(total, 3)}])
    return out
