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
    """Many short hidden/unfocused stretches add up (an evasion of the per-stretch limits):
    in any block of ``unfocused_share_window_s`` of playback, more than
    ``unfocused_max_share`` of it (and at least ``unfocused_share_min_s``) unfocused.

    Linear in the number of spans: consecutive whole blocks inside one span are one finding."""
    out = Findings()
    pol = ctx.policy
    window = pol.unfocused_share_window_s
    fill = unfocused = 0.0
    block_t0: float | None = None
    worst: list[tuple[float, float, float, float]] = []  # (t0, t1, unfocused, fill)

    def close(t1: float) -> None:
        if block_t0 is not None and unfocused >= pol.unfocused_share_min_s \
                and unfocused > pol.unfocused_max_share * fill:
            worst.append((block_t0, t1, unfocused, fill))

    for t0, t1, hidden, blurred, _late, throttled, _s0, _s1 in ctx.timeline.spans:
        off = hidden or blurred or throttled
        at = t0
        left = t1 - t0
        if fill > 0.0:  # finish the block already begun
            take = min(left, window - fill)
            fill += take
            if off:
                unfocused += take
            at += take
            left -= take
            if fill >= window:
                close(at)
                fill = unfocused = 0.0
                block_t0 = None
        # Whole blocks inside this one span cost O(1), never a walk over the claimed span:
        # all of them unfocused (one finding over them all) or all focused (none).
        whole = int(left // window) if left > 0 else 0
        if whole:
            span_s = whole * window
            if off and window >= pol.unfocused_share_min_s:
                worst.append((at, at + span_s, span_s, span_s))
            at += span_s
            left -= span_s
        if left > 0:
            block_t0 = at
            fill = left
            unfocused = left if off else 0.0
    if block_t0 is not None:
        close(ctx.timeline.spans[-1][1])
    for t0, t1, off_s, fill_s in worst:
        out.flag(MULTI_WINDOW, t0, t1,
                 f"{off_s:.0f} s of {fill_s:.0f} s of playback hidden or unfocused",
                 [{"unfocused_s": round(off_s, 3), "playback_s": round(fill_s, 3)}])
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
