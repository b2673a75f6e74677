"""FAST_FORWARD (快进播放): speed above the maximum, a forward seek past the furthest point
watched, the play head outrunning the clock (a player that hides its seeks or its speed), or
"complete" without the media covered."""

from __future__ import annotations

from proctor.domain.coverage import measure, union
from proctor.domain.model import JSON
from proctor.domain.rules.base import FAST_FORWARD, MAX_EVIDENCE, Findings, RuleContext, r3


def excessive_rate(ctx: RuleContext) -> Findings:
    """Playing at a reported rate above ``max_rate`` for longer than ``rate_grace_s``."""
    out = Findings()
    grace = ctx.policy.rate_grace_s
    stretches: list[list[float]] = []  # [t0, t1, max rate, first seq]
    for t0, t1, rate, seq in ctx.timeline.fast_rates:
        if stretches and stretches[-1][1] >= t0:
            s = stretches[-1]
            s[1] = t1
            s[2] = max(s[2], rate)
        else:
            stretches.append([t0, t1, rate, float(seq)])
    for s0, s1, top, first_seq in stretches:
        if s1 - s0 > grace:
            out.flag(FAST_FORWARD, s0, s1,
                     f"played at rate {top:g} (max {ctx.policy.max_rate:g}) for {s1 - s0:.0f} s",
                     [{"seq": int(first_seq), "rate": top}])
    return out


def seek_past_furthest(ctx: RuleContext) -> Findings:
    """A seek (or a jump while paused) landing beyond the furthest point watched."""
    out = Findings()
    tol = ctx.policy.seek_tolerance_s
    for t, f, to, seq, furthest, explicit in ctx.timeline.seeks:
        if to > f and to > furthest + tol:
            how = "seek" if explicit else "jump without a seek event"
            out.flag(FAST_FORWARD, t, t,
                     f"{how} from {f:.1f} s to {to:.1f} s, past the furthest point watched "
                     f"({furthest:.1f} s)",
                     [{"seq": seq, "from": r3(f), "to": r3(to), "furthest": r3(furthest)}])
    return out


def play_head_outruns_clock(ctx: RuleContext) -> Findings:
    """Within one playing run the play head may not gain on wall time (times ``max_rate``) by
    more than ``drift_tolerance_s`` + ``drift_tolerance_fraction`` of the stretch, over any
    stretch. Kadane's maximum-sum window: stalls never bank credit for a later burst."""
    out = Findings()
    pol = ctx.policy
    speed = pol.max_rate + pol.drift_tolerance_fraction
    tol = pol.drift_tolerance_s
    cur = 0.0
    start: tuple[float, int] | None = None
    flagged: list[list[float]] = []  # [t0, t1, worst lead, seq0, seq1]
    prev_t = prev_p = 0.0
    prev_run = -1
    prev_seq = 0
    for t, p, seq, run, _late in ctx.timeline.marks:
        if run == prev_run:
            gain = (p - prev_p) - (t - prev_t) * speed
            if cur <= 0.0:
                cur = gain
                start = (prev_t, prev_seq)
            else:
                cur += gain
            if cur > tol and start is not None:
                if flagged and flagged[-1][0] == start[0]:
                    f = flagged[-1]
                    f[1], f[2], f[4] = t, max(f[2], cur), seq
                else:
                    flagged.append([start[0], t, cur, start[1], seq])
        else:
            cur = 0.0
            start = None
        prev_t, prev_p, prev_run, prev_seq = t, p, run, seq
    for t0, t1, lead, seq0, seq1 in flagged[:MAX_EVIDENCE * 4]:
        out.flag(FAST_FORWARD, t0, t1,
                 f"play head ran {lead:.1f} s ahead of wall time in {t1 - t0:.0f} s "
                 "(hidden seek or speed)",
                 [{"from_seq": int(seq0), "to_seq": int(seq1), "lead_s": r3(lead)}])
    return out


def complete_without_coverage(ctx: RuleContext) -> Findings:
    """``lesson.complete`` while the media covered (with earlier sessions) is short."""
    out = Findings()
    if not ctx.timeline.completes:
        return out
    lesson = ctx.session.lesson
    covered = measure(union([*ctx.session.prior_covered, *ctx.covered],
                            join=ctx.policy.coverage_join_s, lo=0.0, hi=lesson.duration_s))
    need = ctx.policy.completion_coverage * lesson.duration_s
    if covered + 1e-9 < need:
        t, pos, seq = ctx.timeline.completes[0]
        evidence: list[JSON] = [{"seq": seq, "position": r3(pos), "covered_s": r3(covered),
                                 "duration_s": lesson.duration_s}]
        out.flag(FAST_FORWARD, t, t,
                 f"lesson.complete with {covered:.0f} s of {lesson.duration_s:.0f} s covered "
                 f"(needs {ctx.policy.completion_coverage:.0%})", evidence)
    return out
