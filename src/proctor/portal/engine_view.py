"""The timeline picture's player path, read from the engine's own timeline.

The rules judge a session on ``domain.timeline.build_timeline`` (spans of playback, play-head
marks, seeks, explicit and inferred, reported fast rates); the portal draws exactly that, so
the picture and the verdict never disagree. In particular:

- a play head that moved while the engine thought the player paused is drawn as the engine
  read it: playback resumed (a lost ``play`` event) when the move fits wall time, an
  *inferred* seek mark (no seek event) when it does not; a +600 s jump while paused is a
  seek mark the verdict's FAST_FORWARD band explains;
- playback between two marks is drawn at the speed observed between them (so steady 2x
  playback reads as one orange stretch, not as a string of jumps), or at the reported rate;
- page hidden / window unfocused come from the engine's spans (while playing, as the rules
  count them).
"""

from __future__ import annotations

from bisect import bisect_right

from proctor.domain.timeline import Timeline
from proctor.portal.timeline import PlayerPoint, SeekMark


def _rate_at(fast: list[tuple[float, float, float, int]], t: float) -> float:
    for a, b, rate, _ in fast:
        if a <= t < b:
            return rate
    return 1.0


def player_view(tl: Timeline, t0: float) -> tuple[list[PlayerPoint], list[SeekMark]]:
    """Player points (times relative to ``t0``) and the engine's seeks, for `TimelineView`."""
    spans = tl.spans
    span_t0 = [s[0] for s in spans]

    def flags(t: float) -> tuple[bool, bool]:  # (visible, focused) while playing at t
        i = bisect_right(span_t0, t) - 1
        if i >= 0 and spans[i][0] <= t < spans[i][1]:
            return (not spans[i][2], not (spans[i][2] or spans[i][3]))
        return (True, True)

    marks = tl.marks
    # times where the page state changes inside a run of playback get a point of their own
    cuts = sorted({s[0] for s in spans} | {s[1] for s in spans})
    points: list[PlayerPoint] = []
    first = marks[0] if marks else None
    if first is not None and first[0] - t0 > 0:
        points.append(PlayerPoint(0.0, first[1], False))
    for i, (t, p, _seq, run, _late) in enumerate(marks):
        nxt = marks[i + 1] if i + 1 < len(marks) else None
        playing = nxt is not None and nxt[3] == run and nxt[0] > t
        rate = _rate_at(tl.fast_rates, t)
        if playing and nxt is not None:
            observed = (nxt[1] - p) / (nxt[0] - t)
            if observed > rate + 0.05:
                rate = round(observed, 1)
        visible, focused = flags(t)
        points.append(PlayerPoint(t - t0, p, playing, rate, visible, focused))
        if playing and nxt is not None:
            lo, hi = bisect_right(cuts, t), bisect_right(cuts, nxt[0] - 1e-9)
            for c in cuts[lo:hi]:
                pos = p + (c - t) * (nxt[1] - p) / (nxt[0] - t)
                visible, focused = flags(c)
                points.append(PlayerPoint(c - t0, pos, True, rate, visible, focused))
    if points and tl.last_t is not None and tl.last_t - t0 > points[-1].t:
        last = points[-1]
        points.append(PlayerPoint(tl.last_t - t0, last.position, False, last.rate))
    seeks = [SeekMark(t - t0, f, to, inferred=not explicit)
             for t, f, to, _seq, _furthest, explicit in tl.seeks]
    return points, seeks
