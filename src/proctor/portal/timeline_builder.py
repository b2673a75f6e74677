"""Turn a session's telemetry (CONTRACT §3 event types) into the timeline's player points.

Phase 2 maps stored events to `TelemetryEvent` (t = seconds since the session started, on
whichever clock the verdict used) and calls `player_track`; challenges, photos and violations
map one-to-one onto the timeline's marks and need no builder.

The player is replayed as a small state machine: play/pause set whether the play head moves,
seek moves it, ratechange sets the speed, heartbeat corrects position/rate/visibility/focus,
visibility and focus toggle the page state. Between events that carry a position, the play head
is extrapolated at the current rate while playing, so a focus change mid-play lands on the line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from proctor.portal.timeline import PlayerPoint, SeekMark


@dataclass(frozen=True, slots=True)
class TelemetryEvent:
    t: float
    type: str  # play, pause, seek, ratechange, heartbeat, visibility, focus, lesson.complete ...
    position: float | None = None
    from_position: float | None = None  # seek
    to_position: float | None = None  # seek
    rate: float | None = None  # ratechange, heartbeat
    visible: bool | None = None  # heartbeat
    focused: bool | None = None  # heartbeat
    state: str | None = None  # visibility: hidden/visible; focus: blur/focus
    seq: int = 0  # tie-breaker for events with the same t


# A paused play head that a heartbeat shows further on by more than this had been playing.
RESUMED_WITHOUT_PLAY_S = 1.0


def player_track(
    events: Iterable[TelemetryEvent],
) -> tuple[list[PlayerPoint], list[SeekMark]]:
    """Player points (one per state change) and seeks, ready for `TimelineView`."""
    points: list[PlayerPoint] = []
    seeks: list[SeekMark] = []
    current = PlayerPoint(t=0.0, position=0.0, playing=False)
    for ev in sorted(events, key=lambda e: (e.t, e.seq)):
        here = _advance(current, ev.t)
        kind = ev.type
        if kind == "play":
            here = replace(here, playing=True, position=_or(ev.position, here.position))
        elif kind in ("pause", "lesson.complete"):
            here = replace(here, playing=False, position=_or(ev.position, here.position))
        elif kind == "seek":
            start = _or(ev.from_position, here.position)
            end = _or(ev.to_position, here.position)
            seeks.append(SeekMark(ev.t, start, end))
            here = replace(here, position=end)
        elif kind == "ratechange" and ev.rate is not None:
            here = replace(here, rate=ev.rate)
        elif kind == "heartbeat":
            if (not current.playing and ev.position is not None and ev.t > current.t
                    and ev.position - current.position > RESUMED_WITHOUT_PLAY_S):
                # The play head moved while we thought the player paused: its `play` event was
                # lost (the rules infer playback the same way). Draw that stretch as playing.
                if points and points[-1].t == current.t:
                    points[-1] = replace(points[-1], playing=True)
                here = replace(here, playing=True)
            here = replace(
                here,
                position=_or(ev.position, here.position),
                rate=_or(ev.rate, here.rate),
                visible=here.visible if ev.visible is None else ev.visible,
                focused=here.focused if ev.focused is None else ev.focused,
            )
        elif kind == "visibility" and ev.state in ("hidden", "visible"):
            here = replace(here, visible=ev.state == "visible")
        elif kind == "focus" and ev.state in ("blur", "focus"):
            here = replace(here, focused=ev.state == "focus")
        elif kind == "session.end":
            here = replace(here, playing=False)
        else:
            continue  # unknown types are added by later contract versions: ignore them
        current = here
        if points and points[-1].t == here.t:
            points[-1] = here  # several events at one instant: the last state wins
        else:
            points.append(here)
    return points, seeks


def _advance(point: PlayerPoint, t: float) -> PlayerPoint:
    if point.playing and t > point.t:
        return replace(point, t=t, position=point.position + (t - point.t) * point.rate)
    return replace(point, t=max(t, point.t))


def _or(value: float | None, default: float) -> float:
    return default if value is None else value
