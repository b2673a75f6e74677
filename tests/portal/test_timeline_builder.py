from __future__ import annotations

import pytest

from proctor.portal.timeline import PlayerPoint, SeekMark, TimelineView, render_timeline_svg
from proctor.portal.timeline_builder import TelemetryEvent as E
from proctor.portal.timeline_builder import player_track


def test_play_pause_seek_rate_and_page_state() -> None:
    events = [
        E(0, "play", position=0),
        E(10, "heartbeat", position=10, rate=1, visible=True, focused=True),
        E(20, "ratechange", rate=2),
        E(30, "focus", state="blur"),  # extrapolated: 20 + 10 s at 2x = 40
        E(40, "visibility", state="hidden"),
        E(50, "seek", from_position=80, to_position=300),
        E(60, "pause", position=320),
        E(90, "session.end"),
    ]
    points, seeks = player_track(events)
    assert seeks == [SeekMark(50, 80, 300)]
    by_t = {p.t: p for p in points}
    assert by_t[30] == PlayerPoint(30, 40, True, 2, True, False)
    assert by_t[40] == PlayerPoint(40, 60, True, 2, False, False)
    assert by_t[50].position == 300
    assert by_t[60] == PlayerPoint(60, 320, False, 2, False, False)
    assert by_t[90].position == 320  # paused: the play head stays
    assert [p.t for p in points] == sorted(p.t for p in points)


def test_out_of_order_and_same_instant_events() -> None:
    events = [
        E(10, "pause", position=10, seq=3),
        E(0, "play", position=0, seq=1),
        E(10, "play", position=10, seq=4),
        E(5, "something.new", seq=2),
    ]
    points, _ = player_track(events)
    assert [(p.t, p.playing) for p in points] == [(0, True), (10, True)]


def test_an_empty_heartbeat_only_moves_time_on() -> None:
    points, _ = player_track([E(0, "play", position=5), E(10, "heartbeat")])
    assert points[-1] == PlayerPoint(10, 15, True)


@pytest.mark.parametrize("kind", ["visibility", "focus", "ratechange"])
def test_malformed_state_events_are_ignored(kind: str) -> None:
    points, _ = player_track([E(0, "play", position=5), E(10, kind, state="weird")])
    assert points == [PlayerPoint(0, 5, True)]


def test_track_renders() -> None:
    points, seeks = player_track(
        [
            E(0, "play", position=0),
            E(100, "seek", from_position=100, to_position=400),
            E(200, "pause"),
        ]
    )
    svg = render_timeline_svg(TimelineView(media_duration=600, points=points, seeks=seeks))
    assert svg.count('class="tl-seek"') == 1
    assert svg.count("tl-run tl-play") == 2  # the seek splits the playing line in two


def test_a_lost_play_event_is_inferred_from_heartbeats() -> None:
    """pause at 10 s, the `play` at 15 s was lost: heartbeats show the play head moving on."""
    events = [
        E(0, "play", position=0),
        E(10, "pause", position=10),
        E(25, "heartbeat", position=20, rate=1, visible=True, focused=True),
        E(35, "heartbeat", position=30, rate=1, visible=True, focused=True),
    ]
    points, _ = player_track(events)
    by_t = {p.t: p for p in points}
    assert by_t[10].playing  # the stretch 10 s -> 25 s is drawn as playing, not paused
    assert by_t[25] == PlayerPoint(25, 20, True)
    assert by_t[35] == PlayerPoint(35, 30, True)


def test_a_paused_player_with_a_still_play_head_stays_paused() -> None:
    events = [
        E(0, "play", position=0),
        E(10, "pause", position=10),
        E(25, "heartbeat", position=10.3, rate=1, visible=True, focused=True),
    ]
    points, _ = player_track(events)
    assert not points[-1].playing
    assert not {p.t: p for p in points}[10].playing
