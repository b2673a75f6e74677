"""Cross-institution signals: rules over the county's facts, each finding carrying its evidence.

A finding is not a verdict: the service opens a county case with it and a reviewer decides.
Every threshold comes from :class:`CountyPolicy`; times are unix seconds (UTC), "a day" and
"the night" are local (``utc_offset_hours``). Each rule has honest look-alikes it must leave
alone (docs/county.md): a family computer used in turn, a training centre's lab on one IP with
a machine per learner, a night-shift worker's hour after the shift.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from proctor.domain.county.policy import CountyPolicy

PERSON_TWO_INSTITUTIONS = "PERSON_TWO_INSTITUTIONS"
PERSON_TWO_CLASSES = "PERSON_TWO_CLASSES"
DEVICE_SHARED_AT_ONCE = "DEVICE_SHARED_AT_ONCE"
DEVICE_MANY_PERSONS_DAY = "DEVICE_MANY_PERSONS_DAY"
IP_ROOM = "IP_ROOM"
HEARTBEAT_NO_JITTER = "HEARTBEAT_NO_JITTER"
IDENTICAL_TELEMETRY = "IDENTICAL_TELEMETRY"
CLASS_LOCKSTEP = "CLASS_LOCKSTEP"
NIGHT_STUDY = "NIGHT_STUDY"
FACE_TWO_IDS = "FACE_TWO_IDS"

RULES: dict[str, tuple[str, str]] = {
    PERSON_TWO_INSTITUTIONS: ("同一人同时在两家机构学习", "one person studying at two institutions at once"),
    PERSON_TWO_CLASSES: ("同一人同时参加两个补贴性培训班", "one person in two subsidised classes at once"),
    DEVICE_SHARED_AT_ONCE: ("同一设备同时承载多名学员", "one device carrying several people at once"),
    DEVICE_MANY_PERSONS_DAY: ("同一设备一天内学员过多", "one device carrying many people in a day"),
    IP_ROOM: ("同一网段多人共用少量设备（疑似代学）", "one IP /24: many people on few devices"),
    HEARTBEAT_NO_JITTER: ("心跳间隔毫无抖动（疑似脚本）", "heartbeats without jitter (a script)"),
    IDENTICAL_TELEMETRY: ("不同学员的事件序列完全相同", "identical event sequences across people"),
    CLASS_LOCKSTEP: ("全班在相同时刻开始和结束学习", "a whole class starting and stopping together"),
    NIGHT_STUDY: ("通宵学习", "study through the night"),
    FACE_TWO_IDS: ("同一张脸对应两个身份证号", "the same face under two ID numbers"),
}


@dataclass(frozen=True, slots=True)
class SessionFact:
    """What the county keeps of one study session (services/county/facts.py builds it)."""

    session_id: str
    learner_id: int
    person: str  # the person key (HMAC of the ID number)
    institution_id: int
    course_id: int
    class_batch: str
    lesson_id: int
    start: float
    end: float
    device_id: str | None = None
    fingerprint: str | None = None
    ip24: str | None = None
    heartbeats: int = 0
    heartbeat_jitter_ms: float | None = None
    sequence_digest: str | None = None
    events: int = 0


@dataclass(frozen=True, slots=True)
class EnrolmentFact:
    enrolment_id: int
    learner_id: int
    person: str
    institution_id: int
    course_id: int
    class_batch: str
    start_on: date
    closed_on: date | None = None  # the exam that closed this class for the person


@dataclass(frozen=True, slots=True)
class FaceMatch:
    """A 1:N face search hit: two enrolment faces of different learners that match."""

    learner_a: int
    person_a: str
    institution_a: int
    learner_b: int
    person_b: str
    institution_b: int
    distance: float
    judged: bool = False  # the faces 1:N search already judged it a match with its own model


@dataclass(frozen=True)
class Finding:
    rule: str
    key: str  # identifies the finding across runs (re-running a check adds no second case)
    summary: str
    session_ids: tuple[str, ...] = ()
    learner_ids: tuple[int, ...] = ()
    institution_ids: tuple[int, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- helpers
def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def local_day(t: float, p: CountyPolicy) -> date:
    return (datetime.fromtimestamp(t, UTC) + timedelta(seconds=p.local_offset_s())).date()


def _overlap(a: SessionFact, b: SessionFact) -> float:
    return min(a.end, b.end) - max(a.start, b.start)


def _session_row(f: SessionFact) -> dict[str, Any]:
    return {"session_id": f.session_id, "learner_id": f.learner_id,
            "institution_id": f.institution_id, "course_id": f.course_id,
            "class_batch": f.class_batch, "start": _iso(f.start), "end": _iso(f.end),
            "device_id": f.device_id, "fingerprint": f.fingerprint, "ip24": f.ip24}


def _finding(rule: str, key: str, summary: str, facts: Iterable[SessionFact],
             **evidence: Any) -> Finding:
    rows = sorted({f.session_id: f for f in facts}.values(), key=lambda f: (f.start, f.session_id))
    return Finding(rule, key, summary, tuple(f.session_id for f in rows),
                   tuple(sorted({f.learner_id for f in rows})),
                   tuple(sorted({f.institution_id for f in rows})),
                   {**evidence, "sessions": [_session_row(f) for f in rows]})


def _overlapping_pairs(facts: Sequence[SessionFact], min_s: float
                       ) -> Iterable[tuple[SessionFact, SessionFact]]:
    """Pairs overlapping by at least ``min_s`` (sort and sweep: no all-pairs scan)."""
    ordered = sorted(facts, key=lambda f: f.start)
    active: list[SessionFact] = []
    for f in ordered:
        active = [a for a in active if a.end - f.start >= min_s]
        for a in active:
            if _overlap(a, f) >= min_s:
                yield a, f
        active.append(f)


def _group(facts: Iterable[SessionFact], key: Callable[[SessionFact], Any]
           ) -> dict[Any, list[SessionFact]]:
    groups: dict[Any, list[SessionFact]] = defaultdict(list)
    for f in facts:
        k = key(f)
        if k is not None:
            groups[k].append(f)
    return groups


# ---------------------------------------------------------------- people
def person_two_institutions(facts: Sequence[SessionFact], p: CountyPolicy) -> list[Finding]:
    """The same person playing at two institutions at overlapping times (MULTI_WINDOW across
    platforms: neither platform can see it)."""
    out = []
    for (person, day), group in _group(facts, lambda f: (f.person, local_day(f.start, p))).items():
        pairs = [(a, b) for a, b in _overlapping_pairs(group, p.person_overlap_min_s)
                 if a.institution_id != b.institution_id]
        if not pairs:
            continue
        involved = [f for pair in pairs for f in pair]
        out.append(_finding(
            PERSON_TWO_INSTITUTIONS, f"{person[:16]}:{day}",
            f"同一人 {day} 在 {len({f.institution_id for f in involved})} 家机构同时学习",
            involved, day=day.isoformat(),
            overlaps=[{"a": a.session_id, "b": b.session_id,
                       "overlap_s": round(_overlap(a, b), 1)} for a, b in pairs]))
    return out


def person_two_classes(enrolments: Sequence[EnrolmentFact], p: CountyPolicy) -> list[Finding]:
    """One person enrolled in two subsidised classes whose open periods overlap (a class is
    open from its start until the person's exam for it, or ``class_open_days`` at most)."""
    out = []
    by_person: dict[str, list[EnrolmentFact]] = defaultdict(list)
    for e in enrolments:
        by_person[e.person].append(e)
    for person, group in by_person.items():
        spans = []
        for e in group:
            end = e.start_on + timedelta(days=p.class_open_days)
            if e.closed_on is not None:
                end = min(end, e.closed_on)
            spans.append((e, e.start_on, end))
        pairs = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1:]
                 if (a[0].institution_id, a[0].course_id) != (b[0].institution_id, b[0].course_id)
                 and max(a[1], b[1]) < min(a[2], b[2])]
        if not pairs:
            continue
        involved = sorted({x[0].enrolment_id: x[0] for pair in pairs for x in pair}.values(),
                          key=lambda e: e.enrolment_id)
        out.append(Finding(
            PERSON_TWO_CLASSES, f"{person[:16]}:" + ",".join(str(e.enrolment_id) for e in involved),
            f"同一人同时在 {len(involved)} 个补贴性培训班中",
            (), tuple(sorted({e.learner_id for e in involved})),
            tuple(sorted({e.institution_id for e in involved})),
            {"classes": [{"enrolment_id": e.enrolment_id, "learner_id": e.learner_id,
                          "institution_id": e.institution_id, "course_id": e.course_id,
                          "class_batch": e.class_batch, "start_on": e.start_on.isoformat(),
                          "closed_on": e.closed_on.isoformat() if e.closed_on else None}
                         for e in involved],
             "overlaps": [{"a": a[0].enrolment_id, "b": b[0].enrolment_id,
                           "from": max(a[1], b[1]).isoformat(), "until": min(a[2], b[2]).isoformat()}
                          for a, b in pairs]}))
    return out


# ---------------------------------------------------------------- devices and rooms
_DEVICE_KINDS: tuple[tuple[str, Callable[[SessionFact], str | None]], ...] = (
    ("device_id", lambda f: f.device_id),
    ("fingerprint", lambda f: f.fingerprint),
)


def device_shared(facts: Sequence[SessionFact], p: CountyPolicy) -> list[Finding]:
    """One device id or browser fingerprint carrying several people's sessions at once, or many
    people in a day. A family computer used in turn overlaps nobody and stays below the day's
    count."""
    out = []
    for kind, get in _DEVICE_KINDS:
        by_device: dict[tuple[str, date], list[SessionFact]] = defaultdict(list)
        for f in facts:
            value = get(f)
            if value:
                by_device[(value, local_day(f.start, p))].append(f)
        for (value, day), group in by_device.items():
            pairs = [(a, b) for a, b in _overlapping_pairs(group, p.device_overlap_min_s)
                     if a.person != b.person]
            at_once = _largest_person_set(pairs)
            if len(at_once) >= p.device_overlap_min_persons:
                involved = [f for pair in pairs for f in pair]
                out.append(_finding(
                    DEVICE_SHARED_AT_ONCE, f"{kind}:{value}:{day}",
                    f"{kind} {value} 在 {day} 同时承载 {len(at_once)} 人的学习",
                    involved, kind=kind, value=value, day=day.isoformat(),
                    persons_at_once=len(at_once)))
            persons = {f.person for f in group}
            if len(persons) >= p.device_day_max_persons:
                out.append(_finding(
                    DEVICE_MANY_PERSONS_DAY, f"{kind}:{value}:{day}",
                    f"{kind} {value} 在 {day} 承载 {len(persons)} 人的学习",
                    group, kind=kind, value=value, day=day.isoformat(), persons=len(persons),
                    limit=p.device_day_max_persons))
    return out


def _largest_person_set(pairs: Sequence[tuple[SessionFact, SessionFact]]) -> set[str]:
    """The most people any one session overlapped (itself included)."""
    around: dict[str, set[str]] = defaultdict(set)
    for a, b in pairs:
        around[a.session_id] |= {a.person, b.person}
        around[b.session_id] |= {a.person, b.person}
    return max(around.values(), key=len, default=set())


def _device_of(f: SessionFact) -> str:
    return f.device_id or f.fingerprint or f"session:{f.session_id}"


def ip_room(facts: Sequence[SessionFact], p: CountyPolicy) -> list[Finding]:
    """An IP /24 where many people study at once on few devices: a 代学 room. A training
    centre's lab (one IP, a machine per learner) has about one person per device."""
    out = []
    for (net, day), group in _group(
            facts, lambda f: (f.ip24, local_day(f.start, p)) if f.ip24 else None).items():
        if len({f.person for f in group}) < p.ip_overlap_min_persons:
            continue
        near: dict[str, list[SessionFact]] = defaultdict(list)
        for a, b in _overlapping_pairs(group, p.device_overlap_min_s):
            near[a.session_id].append(b)
            near[b.session_id].append(a)
        by_id = {f.session_id: f for f in group}
        worst: list[SessionFact] = []
        for sid, others in near.items():
            crowd = [by_id[sid], *others]
            persons = {f.person for f in crowd}
            devices = {_device_of(f) for f in crowd}
            if (len(persons) >= p.ip_overlap_min_persons
                    and len(persons) / len(devices) >= p.ip_min_persons_per_device
                    and len(crowd) > len(worst)):
                worst = crowd
        if worst:
            persons, devices = {f.person for f in worst}, {_device_of(f) for f in worst}
            out.append(_finding(
                IP_ROOM, f"{net}:{day}",
                f"{net}.0/24 在 {day} 有 {len(persons)} 人同时学习，只用了 {len(devices)} 台设备",
                worst, ip24=net, day=day.isoformat(), persons=len(persons), devices=len(devices),
                persons_per_device=round(len(persons) / len(devices), 2)))
    return out


# ---------------------------------------------------------------- telemetry
def heartbeat_no_jitter(facts: Sequence[SessionFact], p: CountyPolicy) -> list[Finding]:
    """Heartbeat intervals with (almost) no jitter: a browser's timers drift by milliseconds,
    a script's don't."""
    flagged = [f for f in facts if f.heartbeats >= p.heartbeat_min_count
               and f.heartbeat_jitter_ms is not None
               and f.heartbeat_jitter_ms < p.heartbeat_min_jitter_ms]
    out = []
    for (learner, day), group in _group(
            flagged, lambda f: (f.learner_id, local_day(f.start, p))).items():
        out.append(_finding(
            HEARTBEAT_NO_JITTER, f"{learner}:{day}",
            f"学员 {learner} {day} 的 {len(group)} 次学习心跳间隔抖动低于 "
            f"{p.heartbeat_min_jitter_ms:g} 毫秒", group, day=day.isoformat(),
            jitter_ms=[{"session_id": f.session_id, "heartbeats": f.heartbeats,
                        "jitter_ms": round(f.heartbeat_jitter_ms or 0.0, 3)} for f in group],
            limit_ms=p.heartbeat_min_jitter_ms))
    return out


def identical_telemetry(facts: Sequence[SessionFact], p: CountyPolicy) -> list[Finding]:
    """Different people's sessions with the very same event sequence (types, timing, positions)."""
    out = []
    for digest, group in _group(
            [f for f in facts if f.events >= p.identical_min_events],
            lambda f: f.sequence_digest).items():
        if len({f.person for f in group}) < 2:
            continue
        out.append(_finding(
            IDENTICAL_TELEMETRY, str(digest),
            f"{len({f.person for f in group})} 人的 {len(group)} 次学习事件序列完全相同",
            group, digest=digest, events=group[0].events))
    return out


def class_lockstep(facts: Sequence[SessionFact], p: CountyPolicy) -> list[Finding]:
    """Most of a class starting and ending the same lesson within seconds of each other."""
    out = []
    for (inst, course, batch, day), group in _group(
            facts, lambda f: (f.institution_id, f.course_id, f.class_batch,
                              local_day(f.start, p))).items():
        persons = {f.person for f in group}
        if len(persons) < p.lockstep_min_persons:
            continue
        tol = p.lockstep_tolerance_s
        in_step: dict[str, SessionFact] = {}
        by_lesson = _group(group, lambda f: f.lesson_id)
        for sessions in by_lesson.values():
            for f in sessions:
                mates = [g for g in sessions if abs(g.start - f.start) <= tol
                         and abs(g.end - f.end) <= tol]
                if len({g.person for g in mates}) >= p.lockstep_min_persons:
                    in_step.update({g.session_id: g for g in mates})
        stepped = {f.person for f in in_step.values()}
        share = len(stepped) / len(persons)
        if share >= p.lockstep_min_share:
            out.append(_finding(
                CLASS_LOCKSTEP, f"{inst}:{course}:{batch}:{day}",
                f"班级 {batch} 在 {day} 有 {len(stepped)}/{len(persons)} 人在 {tol:g} 秒内同时"
                "开始并结束同一课", in_step.values(), class_batch=batch, day=day.isoformat(),
                persons_in_step=len(stepped), class_persons=len(persons),
                share=round(share, 3), tolerance_s=tol))
    return out


def night_study(facts: Sequence[SessionFact], p: CountyPolicy) -> list[Finding]:
    """A person studying through the night: at least ``night_min_s`` of the night window
    (local time) covered by study. A night-shift worker's hour after the shift is far below."""
    off = p.local_offset_s()
    out = []
    for person, group in _group(facts, lambda f: f.person).items():
        nights: dict[date, list[tuple[float, float, SessionFact]]] = defaultdict(list)
        for f in group:
            first = local_day(f.start - 86400, p)
            for k in range(3):  # a night may start the day before
                night = first + timedelta(days=k)
                base = datetime(night.year, night.month, night.day, tzinfo=UTC).timestamp() - off
                lo = base + p.night_start_hour * 3600
                hi = base + p.night_end_hour * 3600 + (86400 if p.night_end_hour <= p.night_start_hour
                                                       else 0)
                a, b = max(f.start, lo), min(f.end, hi)
                if b > a:
                    nights[night].append((a, b, f))
        for night, spans in nights.items():
            covered = _union_length([(a, b) for a, b, _ in spans])
            if covered >= p.night_min_s:
                out.append(_finding(
                    NIGHT_STUDY, f"{person[:16]}:{night}",
                    f"{night} 夜间学习 {covered / 3600:.1f} 小时", [f for _, _, f in spans],
                    night=night.isoformat(), covered_s=round(covered, 1), limit_s=p.night_min_s))
    return out


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, cur_a, cur_b = 0.0, None, None
    for a, b in sorted(spans):
        if cur_b is None or a > cur_b:
            if cur_b is not None and cur_a is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_a is not None and cur_b is not None:
        total += cur_b - cur_a
    return total


# ---------------------------------------------------------------- faces
def face_two_ids(matches: Sequence[FaceMatch], p: CountyPolicy) -> list[Finding]:
    """The same face enrolled under two ID numbers (from the faces 1:N search)."""
    out = []
    for m in matches:
        if m.person_a == m.person_b or (not m.judged and m.distance > p.face_max_distance):
            continue
        a, b = sorted([(m.person_a, m.learner_a), (m.person_b, m.learner_b)])
        out.append(Finding(
            FACE_TWO_IDS, f"{a[0][:16]}:{b[0][:16]}", "同一张脸登记在两个身份证号下", (),
            tuple(sorted({m.learner_a, m.learner_b})),
            tuple(sorted({m.institution_a, m.institution_b})),
            {"learners": [{"learner_id": m.learner_a, "institution_id": m.institution_a},
                          {"learner_id": m.learner_b, "institution_id": m.institution_b}],
             "distance": round(m.distance, 4), "limit": p.face_max_distance}))
    return out


SESSION_RULES: tuple[Callable[[Sequence[SessionFact], CountyPolicy], list[Finding]], ...] = (
    person_two_institutions, device_shared, ip_room, heartbeat_no_jitter, identical_telemetry,
    class_lockstep, night_study,
)


def session_findings(facts: Sequence[SessionFact], p: CountyPolicy) -> list[Finding]:
    """Every session rule over the facts of one window."""
    return [finding for rule in SESSION_RULES for finding in rule(facts, p)]
