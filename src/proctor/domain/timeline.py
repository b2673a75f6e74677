"""The shared timeline normaliser: raw events in, one clean view of a session out.

What it absorbs (honest noise), so that no rule has to:
- duplicates and reordering: events are keyed by ``seq`` (first arrival wins) and walked in
  ``seq`` order; gaps in ``seq`` (lost events) are fine;
- absurd client times: no event is placed more than the policy's ``max_event_age_s`` before
  the server received it (the offset already keeps it from being after), so the timeline spans
  at most what the server saw plus that age, whatever the client claims;
- constant client clock skew: client times are shifted onto the server clock by the smallest
  observed ``server_ts - client_ts`` (the least-delayed event), which keeps the client's precise
  spacing between events while anchoring it to a clock the learner does not control;
- lost heartbeats: a playing stretch simply runs until the next event;
- buffering stalls and float noise: the play head may lag wall time freely and lead it only
  within the policy's drift tolerance (the rules decide);
- a lost ``play`` event: a heartbeat showing the play head moving at wall speed after a pause
  resumes playback instead of looking like a hidden seek.

The hot path: one loop over events with locals only, appending small tuples.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from operator import lt, sub

from proctor.domain.model import EventColumns, Events
from proctor.domain.policy import Policy

# A playing stretch between two consecutive events, merged with its neighbours when all flags
# agree: (t0, t1, hidden, blurred, late, throttled, seq0, seq1)
Span = tuple[float, float, bool, bool, bool, bool, int, int]
# An observed play-head position while playing: (t, position, seq, run, late). ``run`` changes
# at every play / seek / pause so that a jump between runs is never read as playback.
Mark = tuple[float, float, int, int, bool]
# A move of the play head: (t, from, to, seq, furthest watched before it, explicit seek event?)
Seek = tuple[float, float, float, int, float, bool]
# Playing at a reported rate: (t0, t1, rate, seq)
RateSpan = tuple[float, float, float, int]
# lesson.complete: (t, position, seq)
Complete = tuple[float, float, int]


@dataclass(frozen=True, slots=True)
class Timeline:
    offset: float  # add to client_ts to get server-aligned time
    spans: list[Span]
    marks: list[Mark]
    seeks: list[Seek]
    fast_rates: list[RateSpan]
    completes: list[Complete]
    first_t: float | None
    last_t: float | None
    first_play_t: float | None
    played_s: float
    ended: bool
    event_count: int
    last_server_ts: float | None
    seq_gaps: int  # missing seq numbers between the first and last seen

    def playing_intervals(self) -> list[tuple[float, float]]:
        """Wall intervals of playback, adjacent spans joined."""
        out: list[tuple[float, float]] = []
        for t0, t1, *_ in self.spans:
            if out and out[-1][1] >= t0:
                if t1 > out[-1][1]:
                    out[-1] = (out[-1][0], t1)
            else:
                out.append((t0, t1))
        return out


def columns(events: Events) -> EventColumns:
    """The events as columns (as they are, when they already are)."""
    return events if isinstance(events, EventColumns) else EventColumns.of(events)


def in_seq_order(events: Events) -> EventColumns:
    """The events in ``seq`` order, one per ``seq`` (the earliest received wins; the first
    given on a tie)."""
    cols = columns(events)
    kept = _kept(cols.seq, cols.server_ts)
    return cols if kept is None else cols.take(kept)


def _kept(seq: Sequence[int], server_ts: Sequence[float]) -> list[int] | None:
    """Indexes of the events ``in_seq_order`` keeps, in that order; None when it keeps them all
    as they stand (``seq`` strictly increasing: the usual case, checked without a sort)."""
    if all(map(lt, seq, islice(seq, 1, None))):
        return None
    order = sorted(range(len(seq)), key=seq.__getitem__)  # stable: ties keep their order
    if len(set(seq)) == len(order):  # no seq twice (the usual case): all of them, sorted
        return order
    out = [order[0]]
    for i in order[1:]:
        if seq[i] != seq[out[-1]]:
            out.append(i)
        elif server_ts[i] < server_ts[out[-1]]:  # keep the first-received copy
            out[-1] = i
    return out


def clock_offset(events: Events) -> float:
    cols = columns(events)
    return min(map(sub, cols.server_ts, cols.client_ts)) if len(cols) else 0.0


def build_timeline(
    events: Events, policy: Policy, *, prior_furthest: float = 0.0
) -> Timeline:
    evs = in_seq_order(events)
    offset = clock_offset(evs)
    last_server = max(evs.server_ts) if len(evs) else None
    max_rate = policy.max_rate
    fast_rate = max_rate + policy.rate_tolerance
    late_s = policy.late_telemetry_s
    max_age = policy.max_event_age_s
    throttle_s = policy.throttled_heartbeat_gap_s
    resume_slack = policy.drift_tolerance_s

    spans: list[Span] = []
    marks: list[Mark] = []
    seeks: list[Seek] = []
    fast_rates: list[RateSpan] = []
    completes: list[Complete] = []
    span_append = spans.append
    mark_append = marks.append

    playing = False
    hidden = False
    blurred = False
    rate = 1.0
    pos = 0.0  # last known or estimated play-head position
    have_pos = False
    furthest = prior_furthest
    run = 0
    t_prev = 0.0
    seq_prev = 0
    mark_t = 0.0  # time of the last mark while playing (for the furthest-watched bound)
    mark_p = 0.0
    first_t: float | None = None
    first_play_t: float | None = None
    played = 0.0
    ended = False
    # merged-span state
    cur_t0 = cur_t1 = 0.0
    cur_flags: tuple[bool, bool, bool, bool] | None = None
    cur_seq0 = cur_seq1 = 0

    for (seq, etype, client_ts, server_ts, position, from_pos, to_pos, e_rate, visible, focused,
         state) in evs.rows():
        t = client_ts + offset
        if server_ts - t > max_age:  # a claimed century costs nothing: bounded by receipt
            t = server_ts - max_age
        if first_t is None:
            first_t = t_prev = t
        elif t < t_prev:  # client clock stepped back: never let time run backwards
            t = t_prev
        late = server_ts - t > late_s

        if playing:
            dt = t - t_prev
            if dt > 0:
                played += dt
                throttled = dt > throttle_s
                if (cur_t1 == t_prev and cur_flags is not None and hidden is cur_flags[0]
                        and blurred is cur_flags[1] and late is cur_flags[2]
                        and throttled is cur_flags[3]):
                    cur_t1 = t
                    cur_seq1 = seq
                else:
                    if cur_flags is not None:
                        span_append((cur_t0, cur_t1, *cur_flags, cur_seq0, cur_seq1))
                    cur_flags = (hidden, blurred, late, throttled)
                    cur_t0, cur_t1, cur_seq0, cur_seq1 = t_prev, t, seq_prev, seq
                if rate > fast_rate:
                    fast_rates.append((t_prev, t, rate, seq_prev))
            pos += dt * (rate if rate < max_rate else max_rate)  # estimate until observed

        if etype == "heartbeat":
            p = position
            if e_rate is not None:
                rate = e_rate
            if visible is not None:
                hidden = not visible
            if focused is not None and not hidden:  # a hidden page is unfocused anyway
                blurred = not focused
            if p is not None:
                if playing:
                    mark_append((t, p, seq, run, late))
                    # inlined _advance_furthest (the hot path)
                    bound = mark_p + (t - mark_t) * max_rate + resume_slack
                    reach = p if p < bound else bound
                    if reach > furthest:
                        furthest = reach
                    mark_t, mark_p = t, p
                elif have_pos and p != pos:
                    moved = p - pos
                    if resume_slack < moved <= (t - t_prev) * max_rate + resume_slack:
                        # the play event was lost: playback resumed at wall speed
                        run += 1
                        t_resume = t - moved / max_rate
                        if t_resume < t_prev:
                            t_resume = t_prev
                        played += t - t_resume
                        if cur_flags is not None:
                            span_append((cur_t0, cur_t1, *cur_flags, cur_seq0, cur_seq1))
                        cur_t0, cur_t1, cur_seq0, cur_seq1 = t_resume, t, seq, seq
                        cur_flags = (hidden, blurred, late, False)
                        if first_play_t is None:
                            first_play_t = t_resume
                        playing = True
                        mark_append((t_resume, pos, seq, run, late))
                        mark_append((t, p, seq, run, late))
                        furthest = _advance_furthest(furthest, pos, p, t - t_resume, max_rate,
                                                     resume_slack)
                        mark_t, mark_p = t, p
                    elif abs(moved) > resume_slack:
                        seeks.append((t, pos, p, seq, furthest, False))
                pos = p
                have_pos = True
        elif etype == "play":
            p = position
            if p is None:
                p = pos
            if not playing:
                if have_pos and abs(p - pos) > resume_slack:
                    seeks.append((t, pos, p, seq, furthest, False))
                run += 1
                playing = True
                if first_play_t is None:
                    first_play_t = t
                mark_append((t, p, seq, run, late))
                mark_t, mark_p = t, p
            else:
                mark_append((t, p, seq, run, late))
                furthest = _advance_furthest(furthest, mark_p, p, t - mark_t, max_rate,
                                             resume_slack)
                mark_t, mark_p = t, p
            pos = p
            have_pos = True
        elif etype == "pause" or etype == "lesson.complete":
            p = position
            if p is not None:
                if playing:
                    mark_append((t, p, seq, run, late))
                    furthest = _advance_furthest(furthest, mark_p, p, t - mark_t, max_rate,
                                                 resume_slack)
                pos = p
                have_pos = True
            if etype == "lesson.complete":
                completes.append((t, pos, seq))
            playing = False
        elif etype == "seek":
            f = from_pos if from_pos is not None else pos
            to = to_pos if to_pos is not None else pos
            if playing:
                mark_append((t, f, seq, run, late))
                furthest = _advance_furthest(furthest, mark_p, f, t - mark_t, max_rate,
                                             resume_slack)
                run += 1
                mark_append((t, to, seq, run, late))
                mark_t, mark_p = t, to
            seeks.append((t, f, to, seq, furthest, True))
            pos = to
            have_pos = True
        elif etype == "ratechange":
            if e_rate is not None:
                rate = e_rate
        elif etype == "visibility":
            if state is not None:
                hidden = state == "hidden"
        elif etype == "focus":
            if state is not None:
                blurred = state == "blur"
        elif etype == "session.end":
            playing = False
            ended = True
        t_prev = t
        seq_prev = seq

    if cur_flags is not None:
        span_append((cur_t0, cur_t1, *cur_flags, cur_seq0, cur_seq1))
    return Timeline(
        offset=offset,
        spans=spans,
        marks=marks,
        seeks=seeks,
        fast_rates=fast_rates,
        completes=completes,
        first_t=first_t,
        last_t=t_prev if first_t is not None else None,
        first_play_t=first_play_t,
        played_s=played,
        ended=ended,
        event_count=len(evs),
        last_server_ts=last_server,
        seq_gaps=(evs.seq[-1] - evs.seq[0] + 1 - len(evs)) if len(evs) else 0,
    )


def _advance_furthest(
    furthest: float, p0: float, p1: float, dt: float, max_rate: float, slack: float
) -> float:
    """The furthest point watched grows only as fast as wall time allows."""
    bound = p0 + dt * max_rate + slack
    reach = p1 if p1 < bound else bound
    return reach if reach > furthest else furthest


class PlaybackClock:
    """Maps a wall time to the session's playback seconds (paused time does not count)."""

    __slots__ = ("_t0", "_t1", "_cum", "total")

    def __init__(self, spans: Sequence[Span]) -> None:
        self._t0 = [s[0] for s in spans]
        self._t1 = [s[1] for s in spans]
        cum = [0.0]
        for s in spans:
            cum.append(cum[-1] + (s[1] - s[0]))
        self._cum = cum
        self.total = cum[-1]

    def at(self, t: float) -> float:
        i = bisect_right(self._t0, t) - 1
        if i < 0:
            return 0.0
        return self._cum[i] + (min(t, self._t1[i]) - self._t0[i])

    def wall_time(self, playback_s: float) -> float:
        """The wall time at which playback reached ``playback_s`` (inverse of :meth:`at`)."""
        if not self._t0:
            return 0.0
        i = bisect_left(self._cum, playback_s) - 1
        i = max(0, min(i, len(self._t0) - 1))
        return self._t0[i] + (playback_s - self._cum[i])

    def between(self, a: float, b: float) -> float:
        return self.at(b) - self.at(a) if b > a else 0.0
