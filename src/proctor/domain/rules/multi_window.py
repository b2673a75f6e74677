"""MULTI_WINDOW (多窗口学习): playing while the page is hidden or unfocused beyond a short
tolerance, or two sessions of one learner playing at once.

Only playing time counts: a page hidden while paused accrues nothing."""

from __future__ import annotations

from proctor.domain.coverage import measure, overlap, union
from proctor.domain.rules.base import MULTI_WINDOW, Findings, RuleContext


def _stretches(ctx: RuleContext, want: int) -> list[tuple[float, float, int, int, bool]]:
    """Continuous playing stretches where flag ``want`` holds: 0 hidden (or throttled
    heartbeats), 1 blurred. Returns (t0, t1, seq0, seq1, inferred-from-throttling)."""
    out: list[tuple[float, float, int, int, bool]] = []
    active = False
    s_t0 = s_t1 = 0.0
    s_seq0 = s_seq1 = 0
    s_thr = False
    for t0, t1, hidden, blurred, _late, throttled, seq0, seq1 in ctx.timeline.spans:
        on = (hidden or throttled) if want == 0 else (blurred and not hidden)
        if on and active and s_t1 == t0:
            s_t1, s_seq1 = t1, seq1
            s_thr = s_thr or (throttled and not hidden)
            continue
        if active:
            out.append((s_t0, s_t1, s_seq0, s_seq1, s_thr))
            active = False
        if on:
            s_t0, s_t1, s_seq0, s_seq1 = t0, t1, seq0, seq1
            s_thr = throttled and not hidden
            active = True
    if active:
        out.append((s_t0, s_t1, s_seq0, s_seq1, s_thr))
    return out


def hidden_playback(ctx: RuleContext) -> Findings:
    out = Findings()
    tol = ctx.policy.hidden_tolerance_s
    for t0, t1, seq0, seq1, throttled in _stretches(ctx, 0):
        if t1 - t0 > tol:
            why = ("heartbeats throttled as in a background tab" if throttled
                   else "page hidden")
            out.flag(MULTI_WINDOW, t0, t1, f"played {t1 - t0:.0f} s with the {why}",
                     [{"from_seq": seq0, "to_seq": seq1}])
    return out


def blurred_playback(ctx: RuleContext) -> Findings:
    out = Findings()
    tol = ctx.policy.blur_tolerance_s
    for t0, t1, seq0, seq1, _ in _stretches(ctx, 1):
        if t1 - t0 > tol:
            out.flag(MULTI_WINDOW, t0, t1,
                     f"played {t1 - t0:.0f} s while the window was unfocused",
                     [{"from_seq": seq0, "to_seq": seq1}])
    return out


def unfocused_share(ctx: RuleContext) -> Findings:
    """Many short hidden/unfocused stretches add up (an evasion of the per-stretch limit)."""
    out = Findings()
    pol = ctx.policy
    total = 0.0
    first = last = None
    for t0, t1, hidden, blurred, _late, throttled, _s0, _s1 in ctx.timeline.spans:
        if hidden or blurred or throttled:
            total += t1 - t0
            first = t0 if first is None else first
            last = t1
    played = ctx.timeline.played_s
    if first is not None and last is not None and total >= pol.unfocused_share_min_s \
            and total > pol.unfocused_max_share * played:
        out.flag(MULTI_WINDOW, first, last,
                 f"{total:.0f} s of {played:.0f} s played hidden or unfocused",
                 [{"unfocused_s": round(total, 3), "played_s": round(played, 3)}])
    return out


def overlapping_sessions(ctx: RuleContext) -> Findings:
    """This session played while another session of the same learner played."""
    out = Findings()
    mine = ctx.timeline.playing_intervals()
    if not mine:
        return out
    tol = ctx.policy.overlap_tolerance_s
    for other in ctx.session.other_sessions:
        both = overlap(mine, union(other.playing))
        total = measure(both)
        if total > tol:
            out.flag(MULTI_WINDOW, both[0][0], both[-1][1],
                     f"played {total:.0f} s at the same time as session {other.session_id}",
                     [{"other_session": other.session_id, "overlap_s": round(total, 3)}])
    return out
