"""The portal's timeline is the engine's: the picture and the verdict agree."""

from __future__ import annotations

from tests.domain.script import T0, Script, watch

from proctor.domain.engine import evaluate
from proctor.domain.policy import load_policy
from proctor.domain.timeline import build_timeline
from proctor.portal.engine_view import player_view
from proctor.portal.timeline import TimelineView, ViolationBand, describe, render_timeline_svg

POLICY = load_policy("henan-2021")


def _view(s: Script) -> tuple[list, list, list[str]]:
    session = s.session()
    verdict = evaluate(session, POLICY)
    points, seeks = player_view(build_timeline(session.events, POLICY), T0)
    return points, seeks, [v.rule for v in verdict.violations]


def test_paused_jump_without_a_seek_event_is_an_inferred_seek_and_fast_forward() -> None:
    s = watch(300).pause().wait(10).jump(600).wait(10)  # heartbeat: +600 s while paused
    s.play().wait(100).pause().end()
    points, seeks, rules = _view(s)
    assert "FAST_FORWARD" in rules
    jump = [k for k in seeks if k.inferred]
    assert len(jump) == 1 and jump[0].to_position - jump[0].from_position == 600
    # nothing is drawn as played during the pause: no playing segment covers the jump
    for a, b in zip(points, points[1:], strict=False):
        if a.playing:
            assert b.position - a.position <= (b.t - a.t) * 1.05 + 1
    svg = render_timeline_svg(TimelineView(media_duration=2500, points=points, seeks=seeks,
                                           violations=[ViolationBand("FAST_FORWARD", 310, 320)]))
    assert "推断的跳转（无拖动事件）" in svg and "tl-seek-inferred" in svg


def test_lost_play_event_resumes_at_wall_speed_not_a_jump() -> None:
    s = watch(100).pause().wait(20)
    s.playing = True  # the player resumes but its play event is lost (none is emitted)
    s.wait(100).pause().end()
    points, seeks, rules = _view(s)
    assert seeks == [] and "FAST_FORWARD" not in rules
    assert any(p.playing and p.t > 120 for p in points)


def test_steady_double_speed_is_one_fast_stretch() -> None:
    s = watch(60)
    s.set_rate(1.0, speed=2.0)  # reported 1x, the play head runs at 2x
    s.wait(200).pause().end()
    points, seeks, rules = _view(s)
    assert "FAST_FORWARD" in rules and seeks == []
    fast = [p for p in points if p.playing and p.rate >= 1.9]
    assert fast and all(p.t >= 60 for p in fast)
    assert "倍速 2× 播放" in render_timeline_svg(TimelineView(media_duration=2500, points=points))
    assert "倍速播放 1 段" in describe(TimelineView(media_duration=2500, points=points))
