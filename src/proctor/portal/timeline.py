"""The session timeline picture: play-head position (y) against wall time (x), as inline SVG.

What a reviewer reads from it at a glance:
- a rising blue line while the video plays, an orange, thicker one while it plays faster than
  1x, a flat grey dashed one while it is paused;
- seeks as dashed vertical arrows (forward: purple, backward: grey);
- violations as shaded columns labelled with their rule code;
- three lanes under the plot: page hidden / window unfocused stretches, challenges (passed,
  failed, expired) and photos (match, mismatch, ...);
- every mark has a <title> tooltip; the <desc> gives the same story in words for screen
  readers.

Pure rendering over the small view-model below (no DB, no other proctor modules): the
service that builds a session page converts its events, challenges, photos and verdict into a
`TimelineView` and calls `render_timeline_svg`.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from proctor.portal.labels import (
    PHOTO_OUTCOME_TONE,
    challenge_kind_label,
    challenge_outcome_label,
    photo_outcome_label,
    rule_colour,
    rule_label,
)


# ---------------------------------------------------------------- view model
@dataclass(frozen=True, slots=True)
class PlayerPoint:
    """The player's state from wall time `t` until the next point."""

    t: float  # wall seconds since the session started
    position: float  # media seconds
    playing: bool
    rate: float = 1.0
    visible: bool = True
    focused: bool = True


@dataclass(frozen=True, slots=True)
class SeekMark:
    t: float
    from_position: float
    to_position: float
    inferred: bool = False  # no seek event: the engine saw the play head jump


@dataclass(frozen=True, slots=True)
class ChallengeMark:
    t: float  # issued
    kind: str  # confirm / photo / liveness
    outcome: str  # passed / failed / expired / pending
    answered_t: float | None = None


@dataclass(frozen=True, slots=True)
class PhotoMark:
    t: float
    outcome: str  # match / mismatch / no_face / multiple_faces / spoof / not_live / ...
    score: float | None = None  # face distance or similarity, shown in the tooltip


@dataclass(frozen=True, slots=True)
class ViolationBand:
    rule: str
    at: float
    until: float | None = None  # None: to the end of the session
    detail: str = ""


@dataclass(frozen=True, slots=True)
class TimelineView:
    media_duration: float
    points: Sequence[PlayerPoint]
    seeks: Sequence[SeekMark] = ()
    challenges: Sequence[ChallengeMark] = ()
    photos: Sequence[PhotoMark] = ()
    violations: Sequence[ViolationBand] = ()
    wall_span: float | None = None  # length of the session; default: the last mark
    title: str = "学习过程时间线"
    # Drawn as speed-up only above this rate: the policy's max rate plus its tolerance for float
    # noise, so the picture never shows as speeding what the rules accept as normal speed.
    speed_above: float = 1.0


# ---------------------------------------------------------------- layout and colours
WIDTH = 960
LEFT, RIGHT, TOP = 70, 20, 40
PLOT_H = 230
LANE_H, LANE_GAP = 22, 6
LANES = ("页面", "弹窗", "拍照")
LEGEND_ROW_H = 22

PLAY, SPEED, PAUSE = "#1c7ed6", "#e8590c", "#adb5bd"
SEEK_FWD, SEEK_BACK = "#7048e8", "#868e96"
HIDDEN, BLURRED = "#343a40", "#adb5bd"
GOOD, BAD, WARN, NEUTRAL = "#2f9e44", "#e03131", "#f08c00", "#868e96"
GRID, AXIS, INK, MUTED = "#e9ecef", "#495057", "#212529", "#868e96"
TONES = {"good": GOOD, "bad": BAD, "warn": WARN, "neutral": NEUTRAL}
FONT = '"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif'


def mmss(seconds: float) -> str:
    """12:05, or 1:02:05 from one hour on; negative times are shown as 0:00."""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def nice_step(span: float, max_ticks: int) -> float:
    for step in (5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200):
        if span / step <= max_ticks:
            return float(step)
    return float(math.ceil(span / max_ticks / 3600) * 3600)


def _r(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


class _Canvas:
    """Coordinates of one picture: wall time → x, media position → y, lanes below."""

    def __init__(self, view: TimelineView, width: int) -> None:
        self.width = width
        self.plot_w = width - LEFT - RIGHT
        times = [p.t for p in view.points] + [s.t for s in view.seeks]
        times += [c.answered_t or c.t for c in view.challenges] + [p.t for p in view.photos]
        times += [v.until if v.until is not None else v.at for v in view.violations]
        self.span = max(view.wall_span or 0.0, max(times, default=0.0), 1.0)
        positions = [p.position for p in view.points]
        self.duration = max(view.media_duration, max(positions, default=0.0), 1.0)
        self.plot_bottom = TOP + PLOT_H
        self.lanes_top = self.plot_bottom + 14
        self.lanes_bottom = self.lanes_top + len(LANES) * (LANE_H + LANE_GAP)
        self.axis_y = self.lanes_bottom + 2
        self.legend_top = self.axis_y + 62

    def x(self, t: float) -> float:
        return LEFT + min(max(t, 0.0), self.span) / self.span * self.plot_w

    def y(self, position: float) -> float:
        pos = min(max(position, 0.0), self.duration)
        return self.plot_bottom - pos / self.duration * PLOT_H

    def lane_mid(self, index: int) -> float:
        return self.lanes_top + index * (LANE_H + LANE_GAP) + LANE_H / 2


def _el(parent: ET.Element, tag: str, title: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(
        parent, tag, {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
    )
    if title:
        ET.SubElement(node, "title").text = title
    return node


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> ET.Element:
    node = _el(parent, "text", x=_r(x), y=_r(y), **attrs)
    node.text = text
    return node


# ---------------------------------------------------------------- play-head line
@dataclass
class _Run:
    style: str  # play / speed / pause
    rate: float
    coords: list[tuple[float, float]] = field(default_factory=list)  # (t, position)


def _runs(points: Sequence[PlayerPoint], seeks: Sequence[SeekMark],
          speed_above: float = 1.0) -> list[_Run]:
    """Cut the play-head path into runs of one style, breaking at seeks (drawn separately)."""
    runs: list[_Run] = []
    ordered = sorted(points, key=lambda p: p.t)
    seeks_by_t = sorted(seeks, key=lambda s: s.t)
    for a, b in zip(ordered, ordered[1:], strict=False):
        style = "pause" if not a.playing else ("speed" if a.rate > speed_above else "play")
        inside = [s for s in seeks_by_t if a.t < s.t <= b.t]
        start_t, start_pos = a.t, a.position
        for seek in inside:
            end_pos = seek.from_position if a.playing else start_pos
            _append(runs, style, a.rate, (start_t, start_pos), (seek.t, end_pos))
            start_t, start_pos = seek.t, seek.to_position
        end_pos = b.position if a.playing else start_pos
        _append(runs, style, a.rate, (start_t, start_pos), (b.t, end_pos))
    return runs


def _append(
    runs: list[_Run], style: str, rate: float, start: tuple[float, float], end: tuple[float, float]
) -> None:
    last = runs[-1] if runs else None
    if last and last.style == style and last.rate == rate and last.coords[-1] == start:
        last.coords.append(end)
    else:
        runs.append(_Run(style, rate, [start, end]))


def _draw_runs(g: ET.Element, c: _Canvas, runs: Iterable[_Run]) -> None:
    for run in runs:
        (t0, p0), (t1, p1) = run.coords[0], run.coords[-1]
        span = f"{mmss(t0)}–{mmss(t1)}"
        if run.style == "pause":
            title = f"暂停 {span}（停在视频 {mmss(p0)}）"
            attrs = {"stroke": PAUSE, "stroke_width": "2", "stroke_dasharray": "5 4"}
        elif run.style == "speed":
            title = f"倍速 {run.rate:g}× 播放 {span}（视频 {mmss(p0)} → {mmss(p1)}）"
            attrs = {"stroke": SPEED, "stroke_width": "4"}
        else:
            rate = "" if run.rate == 1.0 else f" {run.rate:g}×"
            title = f"播放{rate} {span}（视频 {mmss(p0)} → {mmss(p1)}）"
            attrs = {"stroke": PLAY, "stroke_width": "2.5"}
        points = " ".join(f"{_r(c.x(t))},{_r(c.y(p))}" for t, p in run.coords)
        _el(
            g,
            "polyline",
            title,
            points=points,
            fill="none",
            stroke_linecap="round",
            stroke_linejoin="round",
            class_=f"tl-run tl-{run.style}",
            **attrs,
        )


def _draw_seeks(g: ET.Element, c: _Canvas, seeks: Iterable[SeekMark], prefix: str) -> None:
    for seek in seeks:
        forward = seek.to_position > seek.from_position
        jump = seek.to_position - seek.from_position
        what = "推断的跳转（无拖动事件）" if seek.inferred else "拖动进度"
        title = (
            f"{what} {mmss(seek.t)}：视频 {mmss(seek.from_position)} → "
            f"{mmss(seek.to_position)}（{'向前' if forward else '向后'} {mmss(abs(jump))}）"
        )
        x = _r(c.x(seek.t))
        _el(
            g,
            "line",
            title,
            x1=x,
            x2=x,
            y1=_r(c.y(seek.from_position)),
            y2=_r(c.y(seek.to_position)),
            stroke=SEEK_FWD if forward else SEEK_BACK,
            stroke_width="2",
            stroke_dasharray="4 3",
            marker_end=f"url(#{prefix}-arrow-{'fwd' if forward else 'back'})",
            class_="tl-seek tl-seek-inferred" if seek.inferred else "tl-seek",
        )


# ---------------------------------------------------------------- bands, lanes, markers
def _draw_violations(g: ET.Element, c: _Canvas, violations: Sequence[ViolationBand]) -> None:
    label_ends = [0.0, 0.0]
    for v in sorted(violations, key=lambda v: v.at):
        until = c.span if v.until is None else v.until
        x0, x1 = c.x(v.at), c.x(until)
        width = max(x1 - x0, 3.0)  # an instant still gets a visible sliver
        colour = rule_colour(v.rule)
        title = f"{v.rule} {rule_label(v.rule)}：{_when(v, c.span)}"
        if v.detail:
            title += f"。{v.detail}"
        link = _el(g, "a", href=f"#ev-{v.rule}")  # the band leads to its evidence
        band = _el(link, "g", title, class_="tl-violation", data_rule=v.rule)
        _el(
            band,
            "rect",
            x=_r(x0),
            y=_r(TOP),
            width=_r(width),
            height=_r(c.lanes_bottom - TOP),
            fill=colour,
            fill_opacity="0.13",
        )
        _el(band, "rect", x=_r(x0), y=_r(TOP), width=_r(width), height="3", fill=colour)
        # Labels go on the first of two rows with room; none is printed over another.
        label = rule_label(v.rule)
        need = _text_width(label, 11) + 6
        for row in range(2):
            if x0 >= label_ends[row]:
                _text(band, x0 + 2, TOP - 8 - row * 14, label, fill=colour, font_size="11",
                      font_weight="600")
                label_ends[row] = x0 + need
                break


def _state_bands(
    points: Sequence[PlayerPoint], span: float, hidden: bool
) -> list[tuple[float, float]]:
    """Wall-time stretches where the page was hidden (or, with hidden=False, unfocused)."""
    ordered = sorted(points, key=lambda p: p.t)
    bands: list[tuple[float, float]] = []
    for index, point in enumerate(ordered):
        off = (not point.visible) if hidden else (point.visible and not point.focused)
        if not off:
            continue
        end = ordered[index + 1].t if index + 1 < len(ordered) else span
        if bands and bands[-1][1] == point.t:
            bands[-1] = (bands[-1][0], end)
        else:
            bands.append((point.t, end))
    return bands


def _draw_lanes(g: ET.Element, c: _Canvas, view: TimelineView) -> None:
    for index, name in enumerate(LANES):
        top = c.lane_mid(index) - LANE_H / 2
        _el(g, "rect", x=_r(LEFT), y=_r(top), width=_r(c.plot_w), height=_r(LANE_H), fill="#f8f9fa")
        _text(
            g, LEFT - 8, c.lane_mid(index) + 4, name, text_anchor="end", fill=AXIS, font_size="12"
        )
    top = c.lane_mid(0) - LANE_H / 2 + 3
    for hidden, colour, name in ((True, HIDDEN, "页面隐藏"), (False, BLURRED, "窗口失焦")):
        for t0, t1 in _state_bands(view.points, c.span, hidden):
            _el(
                g,
                "rect",
                f"{name} {mmss(t0)}–{mmss(t1)}（{mmss(t1 - t0)}）",
                x=_r(c.x(t0)),
                y=_r(top),
                width=_r(max(c.x(t1) - c.x(t0), 2.0)),
                height=_r(LANE_H - 6),
                fill=colour,
                rx="2",
                class_="tl-hidden" if hidden else "tl-blurred",
            )
    for ch in view.challenges:
        title = (
            f"{challenge_kind_label(ch.kind)} {mmss(ch.t)}：{challenge_outcome_label(ch.outcome)}"
        )
        if ch.answered_t is not None:
            title += f"（{mmss(ch.answered_t - ch.t)} 后作答）"
        _marker(
            g,
            c.x(ch.t),
            c.lane_mid(1),
            _CHALLENGE_SHAPES.get(ch.outcome, "ring"),
            title,
            f"tl-challenge tl-challenge-{ch.outcome}",
        )
    for photo in view.photos:
        tone = PHOTO_OUTCOME_TONE.get(photo.outcome, "neutral")
        title = f"照片 {mmss(photo.t)}：{photo_outcome_label(photo.outcome)}"
        if photo.score is not None:
            title += f"（比对值 {photo.score:.2f}）"
        _marker(
            g,
            c.x(photo.t),
            c.lane_mid(2),
            f"square-{tone}",
            title,
            f"tl-photo tl-photo-{photo.outcome}",
        )


_CHALLENGE_SHAPES = {"passed": "circle", "failed": "cross", "expired": "triangle"}


def _marker(g: ET.Element, x: float, y: float, shape: str, title: str, cls: str) -> None:
    """Shape as well as colour carries the outcome, for readers who can't tell red from green."""
    node = _el(g, "g", title, class_=cls, transform=f"translate({_r(x)},{_r(y)})")
    if shape == "circle":
        _el(node, "circle", r="6", fill=GOOD, stroke="#fff", stroke_width="1.5")
        _el(
            node,
            "path",
            d="M-3 0 L-1 2.5 L3.2 -2.5",
            stroke="#fff",
            stroke_width="1.8",
            fill="none",
        )
    elif shape == "cross":
        _el(node, "circle", r="6.5", fill=BAD, stroke="#fff", stroke_width="1.5")
        _el(node, "path", d="M-3 -3 L3 3 M3 -3 L-3 3", stroke="#fff", stroke_width="2")
    elif shape == "triangle":
        _el(node, "path", d="M0 -7 L7 6 L-7 6 Z", fill=WARN, stroke="#fff", stroke_width="1.5")
    elif shape.startswith("square-"):
        tone = shape.removeprefix("square-")
        _el(
            node,
            "rect",
            x="-6",
            y="-6",
            width="12",
            height="12",
            rx="2",
            fill=TONES[tone],
            stroke="#fff",
            stroke_width="1.5",
        )
        if tone == "bad":
            _el(node, "path", d="M-3 -3 L3 3 M3 -3 L-3 3", stroke="#fff", stroke_width="2")
    else:
        _el(node, "circle", r="5.5", fill="#fff", stroke=NEUTRAL, stroke_width="2")


# ---------------------------------------------------------------- axes and legend
def _draw_axes(g: ET.Element, c: _Canvas) -> None:
    x_step = nice_step(c.span, max(4, c.plot_w // 90))
    y_step = nice_step(c.duration, 6)
    t = 0.0
    while t <= c.span + 1e-9:
        x = _r(c.x(t))
        _el(g, "line", x1=x, x2=x, y1=_r(TOP), y2=_r(c.lanes_bottom), stroke=GRID)
        _text(g, c.x(t), c.axis_y + 14, mmss(t), text_anchor="middle", fill=AXIS, font_size="11")
        t += x_step
    pos = 0.0
    while pos <= c.duration + 1e-9:
        y = _r(c.y(pos))
        _el(g, "line", x1=_r(LEFT), x2=_r(LEFT + c.plot_w), y1=y, y2=y, stroke=GRID)
        _text(g, LEFT - 8, c.y(pos) + 4, mmss(pos), text_anchor="end", fill=AXIS, font_size="11")
        pos += y_step
    # the end of the video, so that "watched to the end" is visible
    end_y = _r(c.y(c.duration))
    _el(
        g,
        "line",
        "视频结尾",
        x1=_r(LEFT),
        x2=_r(LEFT + c.plot_w),
        y1=end_y,
        y2=end_y,
        stroke=AXIS,
        stroke_dasharray="2 3",
    )
    _el(
        g,
        "rect",
        x=_r(LEFT),
        y=_r(TOP),
        width=_r(c.plot_w),
        height=_r(PLOT_H),
        fill="none",
        stroke="#ced4da",
    )
    _text(
        g,
        c.x(c.span / 2),
        c.axis_y + 32,
        "学习时间（自开始起，分:秒）",
        text_anchor="middle",
        fill=AXIS,
        font_size="12",
    )
    label_x, label_y = 16, TOP + PLOT_H / 2
    _text(
        g,
        label_x,
        label_y,
        "视频进度",
        text_anchor="middle",
        fill=AXIS,
        font_size="12",
        transform=f"rotate(-90 {label_x} {_r(label_y)})",
    )


_LEGEND: tuple[tuple[str, str, str], ...] = (
    ("line", PLAY, "正常播放"),
    ("thick", SPEED, "倍速播放"),
    ("dash", PAUSE, "暂停"),
    ("seek", SEEK_FWD, "拖动进度"),
    ("block", HIDDEN, "页面隐藏"),
    ("block", BLURRED, "窗口失焦"),
    ("circle", GOOD, "弹窗通过"),
    ("cross", BAD, "弹窗未通过"),
    ("triangle", WARN, "弹窗超时"),
    ("square-good", GOOD, "照片一致"),
    ("square-bad", BAD, "照片不一致"),
    ("square-warn", WARN, "照片异常"),
    ("band", "#e8590c", "违规时段"),
)


def _text_width(text: str, size: float = 12) -> float:
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def _draw_legend(g: ET.Element, c: _Canvas) -> int:
    """Flow the legend into rows; returns the bottom y."""
    legend = _el(g, "g", class_="tl-legend")
    x, y = float(LEFT), float(c.legend_top)
    for kind, colour, label in _LEGEND:
        item_w = 26 + _text_width(label) + 18
        if x + item_w > LEFT + c.plot_w:
            x, y = float(LEFT), y + LEGEND_ROW_H
        cy = y - 4
        if kind in ("line", "thick", "dash"):
            width = {"line": "2.5", "thick": "4", "dash": "2"}[kind]
            extra = {"stroke_dasharray": "5 4"} if kind == "dash" else {}
            _el(
                legend,
                "line",
                x1=_r(x),
                x2=_r(x + 20),
                y1=_r(cy),
                y2=_r(cy),
                stroke=colour,
                stroke_width=width,
                **extra,
            )
        elif kind == "seek":
            _el(
                legend,
                "line",
                x1=_r(x + 10),
                x2=_r(x + 10),
                y1=_r(cy + 7),
                y2=_r(cy - 5),
                stroke=colour,
                stroke_width="2",
                stroke_dasharray="4 3",
            )
        elif kind in ("block", "band"):
            opacity = "0.25" if kind == "band" else "1"
            _el(
                legend,
                "rect",
                x=_r(x),
                y=_r(cy - 6),
                width="20",
                height="12",
                fill=colour,
                fill_opacity=opacity,
                rx="2",
            )
        else:
            _marker(legend, x + 10, cy, kind, "", "tl-legend-mark")
        _text(legend, x + 26, y, label, fill=INK, font_size="12")
        x += item_w
    return int(y + 14)


def _defs(svg: ET.Element, prefix: str) -> None:
    defs = _el(svg, "defs")
    for name, colour in (("fwd", SEEK_FWD), ("back", SEEK_BACK)):
        marker = _el(
            defs,
            "marker",
            id=f"{prefix}-arrow-{name}",
            viewBox="0 0 10 10",
            refX="8",
            refY="5",
            markerWidth="7",
            markerHeight="7",
            orient="auto-start-reverse",
        )
        _el(marker, "path", d="M0 0 L10 5 L0 10 z", fill=colour)


# ---------------------------------------------------------------- description
def describe(view: TimelineView) -> str:
    """The picture in words: the <desc> for screen readers and a caption for the page."""
    span = _Canvas(view, WIDTH).span
    runs = _runs(view.points, view.seeks, view.speed_above)
    played = sum(r.coords[-1][0] - r.coords[0][0] for r in runs if r.style != "pause")
    speed = [r for r in runs if r.style == "speed"]
    forward = sum(1 for s in view.seeks if s.to_position > s.from_position)
    hidden = sum(b - a for a, b in _state_bands(view.points, span, hidden=True))
    blurred = sum(b - a for a, b in _state_bands(view.points, span, hidden=False))
    furthest = max((p.position for p in view.points), default=0.0)
    passed = sum(1 for ch in view.challenges if ch.outcome == "passed")
    matched = sum(1 for p in view.photos if p.outcome == "match")
    parts = [
        f"会话时长 {mmss(span)}，播放 {mmss(played)}，视频进度最远 {mmss(furthest)}"
        f"（全长 {mmss(view.media_duration)}）",
        f"拖动进度 {len(view.seeks)} 次（向前 {forward} 次）",
        f"倍速播放 {len(speed)} 段",
        f"页面隐藏 {mmss(hidden)}，窗口失焦 {mmss(blurred)}",
        f"弹窗 {len(view.challenges)} 次（通过 {passed} 次）",
        f"拍照 {len(view.photos)} 张（比对一致 {matched} 张）",
    ]
    if view.violations:
        listed = "；".join(
            f"{v.rule} {rule_label(v.rule)} {_when(v, span)}"
            for v in sorted(view.violations, key=lambda v: v.at)
        )
        parts.append(f"违规 {len(view.violations)} 项：{listed}")
    else:
        parts.append("无违规")
    return "。".join(parts) + "。"


def _when(v: ViolationBand, span: float) -> str:
    until = span if v.until is None else v.until
    return mmss(v.at) if until <= v.at else f"{mmss(v.at)}–{mmss(until)}"


# ---------------------------------------------------------------- entry point
def render_timeline_svg(view: TimelineView, *, width: int = WIDTH, id_prefix: str = "tl") -> str:
    """The timeline as an <svg> string, ready to inline in a page (mark it safe there).

    `id_prefix` keeps element ids unique when a page holds several timelines.
    """
    c = _Canvas(view, width)
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "role": "group",
            "class": "timeline",
            "aria-labelledby": f"{id_prefix}-title",
            "aria-describedby": f"{id_prefix}-desc",
            "aria-label": view.title,
            "font-family": FONT,
            "preserveAspectRatio": "xMinYMin meet",
        },
    )
    _el(svg, "title", id=f"{id_prefix}-title").text = view.title
    _el(svg, "desc", id=f"{id_prefix}-desc").text = describe(view)
    _defs(svg, id_prefix)
    _draw_axes(_el(svg, "g", class_="tl-axes"), c)
    _draw_violations(_el(svg, "g", class_="tl-violations"), c, view.violations)
    _draw_lanes(_el(svg, "g", class_="tl-lanes"), c, view)
    line = _el(svg, "g", class_="tl-line")
    if len(view.points) < 2:
        _text(
            line,
            LEFT + c.plot_w / 2,
            TOP + PLOT_H / 2,
            "没有播放记录",
            text_anchor="middle",
            fill=MUTED,
            font_size="14",
        )
    _draw_runs(line, c, _runs(view.points, view.seeks, view.speed_above))
    _draw_seeks(line, c, view.seeks, id_prefix)
    bottom = _draw_legend(svg, c)
    svg.set("viewBox", f"0 0 {width} {bottom + 6}")
    svg.set("width", "100%")
    return ET.tostring(svg, encoding="unicode")
