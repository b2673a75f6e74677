from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from samples import sample_timeline

from proctor.portal.labels import rule_label
from proctor.portal.timeline import (
    PAUSE,
    PLAY,
    SPEED,
    PlayerPoint,
    SeekMark,
    TimelineView,
    ViolationBand,
    describe,
    mmss,
    nice_step,
    render_timeline_svg,
)

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if cls in (e.get("class") or "").split()]


def texts(root: ET.Element) -> list[str]:
    return [e.text or "" for e in root.iter(f"{NS}text")]


def points_of(polyline: ET.Element) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in polyline.get("points", "").split()]


@pytest.fixture(scope="module")
def root() -> ET.Element:
    return parse(render_timeline_svg(sample_timeline()))


def test_is_accessible_svg(root: ET.Element) -> None:
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "group"
    title = root.find(f"{NS}title")
    desc = root.find(f"{NS}desc")
    assert title is not None
    assert desc is not None
    assert root.get("aria-labelledby") == title.get("id")
    assert root.get("aria-describedby") == desc.get("id")
    assert title.text == "学习过程时间线：第3课 低压电工作业安全"
    assert "拖动进度 2 次" in (desc.text or "")
    assert root.get("viewBox", "").startswith("0 0 960 ")


def test_violations_are_shaded_and_labelled(root: ET.Element) -> None:
    bands = by_class(root, "tl-violation")
    assert sorted(b.get("data-rule") for b in bands) == [
        "FACE_LIVENESS",
        "FAST_FORWARD",
        "MULTI_WINDOW",
        "POPUP_GAP",
    ]
    labels = texts(root)
    for code in ("FAST_FORWARD", "MULTI_WINDOW", "POPUP_GAP", "FACE_LIVENESS"):
        assert rule_label(code) in labels  # Chinese names, not codes
    fast = next(b for b in bands if b.get("data-rule") == "FAST_FORWARD")
    tooltip = fast.find(f"{NS}title")
    assert tooltip is not None
    assert tooltip.text.startswith("FAST_FORWARD 快进播放：15:00–18:00")


def test_play_pause_and_speed_runs(root: ET.Element) -> None:
    play, speed, pause = (by_class(root, f"tl-{s}") for s in ("play", "speed", "pause"))
    assert play
    assert len(speed) == 1
    assert len(pause) == 1
    assert {p.get("stroke") for p in play} == {PLAY}
    assert speed[0].get("stroke") == SPEED
    assert pause[0].get("stroke") == PAUSE
    # paused: flat; 2x: twice as steep as normal playback
    paused = points_of(pause[0])
    assert len({y for _, y in paused}) == 1
    (x0, y0), (x1, y1) = points_of(speed[0])[0], points_of(speed[0])[-1]
    (a0, b0), (a1, b1) = points_of(play[0])[0], points_of(play[0])[-1]
    ratio = ((y0 - y1) / (x1 - x0)) / ((b0 - b1) / (a1 - a0))
    assert ratio == pytest.approx(2.0, rel=0.05)
    assert "倍速 2× 播放 15:00–18:00" in speed[0].find(f"{NS}title").text


def test_seeks_are_jumps_with_direction(root: ET.Element) -> None:
    seeks = by_class(root, "tl-seek")
    assert len(seeks) == 2
    forward, backward = seeks
    assert forward.get("marker-end") == "url(#tl-arrow-fwd)"
    assert backward.get("marker-end") == "url(#tl-arrow-back)"
    assert forward.get("x1") == forward.get("x2")
    assert float(forward.get("y2")) < float(forward.get("y1"))  # up the page = later in video
    assert "向前 13:00" in forward.find(f"{NS}title").text
    ids = {m.get("id") for m in root.iter(f"{NS}marker")}
    assert ids == {"tl-arrow-fwd", "tl-arrow-back"}


def test_lanes_markers_and_tooltips(root: ET.Element) -> None:
    assert len(by_class(root, "tl-hidden")) == 1
    assert len(by_class(root, "tl-blurred")) == 1
    challenges = by_class(root, "tl-challenge")
    photos = by_class(root, "tl-photo")
    assert len(challenges) == 5
    assert len(photos) == 4
    assert len(by_class(root, "tl-challenge-failed")) == 1
    assert len(by_class(root, "tl-challenge-expired")) == 1
    assert len(by_class(root, "tl-photo-mismatch")) == 1
    for mark in challenges + photos:
        assert mark.find(f"{NS}title") is not None
    mismatch = by_class(root, "tl-photo-mismatch")[0].find(f"{NS}title").text
    assert mismatch == "照片 20:30：非本人（比对值 0.71）"


def test_axes_and_chinese_legend(root: ET.Element) -> None:
    labels = texts(root)
    for tick in ("00:00", "10:00", "20:00", "35:00", "40:00"):
        assert tick in labels
    for name in (
        "正常播放",
        "倍速播放",
        "暂停",
        "拖动进度",
        "页面隐藏",
        "窗口失焦",
        "弹窗通过",
        "照片不一致",
        "违规时段",
        "视频进度",
    ):
        assert name in labels


def test_text_is_escaped() -> None:
    view = TimelineView(
        media_duration=60,
        points=[PlayerPoint(0, 0, True), PlayerPoint(60, 60, False)],
        violations=[ViolationBand("FAST_FORWARD", 10, 20, 'x<script>alert("1")</script>&')],
        title="<b>",
    )
    svg = render_timeline_svg(view)
    assert "<script>" not in svg
    root = parse(svg)
    assert root.find(f"{NS}title").text == "<b>"


def test_empty_session_still_renders() -> None:
    root = parse(render_timeline_svg(TimelineView(media_duration=600, points=[])))
    assert "没有播放记录" in texts(root)
    assert by_class(root, "tl-run") == []


def test_id_prefix_keeps_two_timelines_apart() -> None:
    view = TimelineView(media_duration=60, points=[], seeks=[SeekMark(5, 0, 30)])
    a, b = (
        parse(render_timeline_svg(view, id_prefix="a")),
        parse(render_timeline_svg(view, id_prefix="b")),
    )
    ids_a = {e.get("id") for e in a.iter() if e.get("id")}
    ids_b = {e.get("id") for e in b.iter() if e.get("id")}
    assert ids_a
    assert not ids_a & ids_b


def test_open_ended_violation_runs_to_the_end() -> None:
    view = TimelineView(
        media_duration=100,
        points=[PlayerPoint(0, 0, True), PlayerPoint(100, 100, False)],
        violations=[ViolationBand("LESSON_ORDER", 0, None)],
        wall_span=200,
    )
    band = by_class(parse(render_timeline_svg(view)), "tl-violation")[0]
    rect = band.find(f"{NS}rect")
    assert float(rect.get("width")) == pytest.approx(960 - 70 - 20, abs=0.2)
    assert "LESSON_ORDER 未按内容先后顺序学习 00:00–03:20" in describe(view)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00"), (59.6, "01:00"), (605, "10:05"), (3725, "1:02:05"), (-3, "00:00")],
)
def test_mmss(seconds: float, text: str) -> None:
    assert mmss(seconds) == text


@pytest.mark.parametrize(
    ("span", "ticks", "step"), [(60, 8, 10), (2160, 10, 300), (2700, 6, 600), (36000, 8, 7200)]
)
def test_nice_step(span: float, ticks: int, step: float) -> None:
    assert nice_step(span, ticks) == step


def test_rate_noise_within_the_policy_tolerance_is_not_drawn_as_speed() -> None:
    """A player reporting 1.004x (float noise the rules accept) must not look like speeding."""
    from proctor.portal.timeline import PlayerPoint, TimelineView, describe

    def view(rate: float) -> TimelineView:
        points = [PlayerPoint(t=0, position=0, playing=True, rate=rate),
                  PlayerPoint(t=60, position=60 * rate, playing=True, rate=rate),
                  PlayerPoint(t=120, position=120 * rate, playing=False, rate=rate)]
        return TimelineView(media_duration=600, points=points, speed_above=1.01)

    assert "倍速播放 0 段" in describe(view(1.004))
    assert "倍速播放 1 段" in describe(view(1.25))


def test_band_labels_never_overlap() -> None:
    from proctor.portal.timeline import _text_width

    bands = [ViolationBand(rule, 10.0 * k, 10.0 * k + 5)
             for k, rule in enumerate(["FAST_FORWARD", "MULTI_WINDOW", "POPUP_GAP"] * 20)]
    svg = render_timeline_svg(TimelineView(media_duration=600, points=[], violations=bands))
    root = ET.fromstring(svg)
    rows: dict[str, list[tuple[float, float]]] = {}
    for band in by_class(root, "tl-violation"):
        for t in band.iter(f"{NS}text"):
            x = float(t.get("x"))
            rows.setdefault(t.get("y"), []).append((x, x + _text_width(t.text or "", 11)))
    assert rows and len(rows) <= 2
    for spans in rows.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
