"""The rule engine: one session's evidence in, a verdict out; and the lesson / course sums.

Pure and deterministic: no I/O, no clock (``now`` is an argument), no randomness. The same
input always gives the same verdict, so a stored verdict can be re-derived and audited.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from proctor.domain.coverage import covered_intervals, measure, union
from proctor.domain.model import (
    Course,
    CourseResult,
    Events,
    Interval,
    Lesson,
    LessonResult,
    LessonVerdict,
    PriorLesson,
    SessionInput,
    SessionRecord,
    Status,
    Verdict,
    Violation,
)
from proctor.domain.policy import Policy
from proctor.domain.rules import RULES
from proctor.domain.rules.base import RuleContext
from proctor.domain.rules.face_liveness import kept_photo_anchors
from proctor.domain.timeline import PlaybackClock, build_timeline, columns


def evaluate(session: SessionInput, policy: Policy, *, now: float | None = None) -> Verdict:
    """Judge one study session. ``now`` (unix seconds) decides whether unanswered challenges
    have expired and whether a silent session is over; by default the latest time the input
    itself shows (its end, or the last event received)."""
    prior_furthest = max((b for _, b in session.prior_covered), default=0.0)
    timeline = build_timeline(session.events, policy, prior_furthest=prior_furthest)
    if now is None:
        known = [x for x in (session.ended_at, timeline.last_server_ts, session.started_at)
                 if x is not None]
        now = max(known) if known else 0.0
    clock = PlaybackClock(timeline.spans)
    lesson = session.lesson
    covered = covered_intervals(timeline.marks, policy, lesson.duration_s)
    ctx = RuleContext(session=session, policy=policy, timeline=timeline, clock=clock,
                      covered=covered, now=now)

    violations: list[Violation] = []
    pending: list[str] = []
    for spec in RULES:
        found = spec.check(ctx)
        # each violation names the check that found it (rule samples assert it)
        violations.extend(v if v.check else replace(v, check=spec.name) for v in found.violations)
        pending.extend(found.pending)
    last_heard = timeline.last_server_ts if timeline.last_server_ts is not None \
        else session.started_at
    if (session.ended_at is None and not timeline.ended and last_heard is not None
            and now - last_heard < policy.idle_timeout_s):
        pending.append("session in progress")
    violations.sort(key=lambda v: (v.at, v.rule, v.until, v.detail))

    status = Status.INVALID if violations else (Status.PENDING if pending else Status.VALID)
    watched = min(measure(covered), timeline.played_s, lesson.duration_s)
    lesson_covered = union([*session.prior_covered, *covered], join=policy.coverage_join_s,
                           lo=0.0, hi=lesson.duration_s)
    firm_photos, _ = kept_photo_anchors(ctx)
    return Verdict(
        status=status,
        credited_seconds=0.0 if status == Status.INVALID else watched,
        covered=tuple(covered),
        violations=tuple(violations),
        policy_id=policy.id,
        policy_version=policy.version,
        played_seconds=timeline.played_s,
        playing=tuple(timeline.playing_intervals()),
        photos_kept=len(firm_photos),
        completed=measure(lesson_covered) >= policy.completion_coverage * lesson.duration_s,
        pending_reasons=tuple(dict.fromkeys(pending)),
    )


def in_flight_until(events: Events, policy: Policy) -> float | None:
    """Until when (server time) events of this session may still be on their way, or None.

    Platforms batch events and networks delay batches, so when ``lesson.complete`` or
    ``session.end`` arrives an earlier batch may still be in flight; judged without it, an
    honest sitting could look like missing coverage or a hidden tab that never came back.
    Nothing can be missing once every ``seq`` from 1 up to a final ``session.end`` arrived;
    otherwise (lost heartbeats leave gaps for good) the wait ends ``late_telemetry_s`` after
    the last arrival: anything arriving later is late telemetry and earns no credit anyway.
    """
    cols = columns(events)
    if not len(cols):
        return None
    seq, types = cols.seq, cols.type
    last_seq = max(seq)
    if min(seq) == 1 and "session.end" in types and _ends_with(seq, types, last_seq) \
            and len(set(seq)) == last_seq:
        return None
    return max(cols.server_ts) + policy.late_telemetry_s


def _ends_with(seq: Sequence[int], types: Sequence[str], last_seq: int) -> bool:
    """Whether an event with the last ``seq`` is a ``session.end`` (found by ``index``, not a
    loop over every event: this is asked of every session judged)."""
    i = seq.index(last_seq)
    while types[i] != "session.end":
        try:
            i = seq.index(last_seq, i + 1)
        except ValueError:
            return False
    return True


def covered_by_sittings(sittings: Sequence[Events], lesson: Lesson,
                        policy: Policy) -> float:
    """Seconds of ``lesson``'s media the telemetry of these sittings covers: what a new sitting
    no longer has to study (the scheduler's ``covered_s``, so a resumed sitting's photo moment
    falls within what is left)."""
    intervals = [iv for events in sittings for iv in covered_intervals(
        build_timeline(events, policy).marks, policy, lesson.duration_s)]
    return measure(union(intervals, join=policy.coverage_join_s, lo=0.0, hi=lesson.duration_s))


def playback_seconds(events: Events, policy: Policy) -> float:
    """Playback progress of a session so far (what the challenge scheduler counts in)."""
    return build_timeline(events, policy).played_s


def aggregate_lesson(
    lesson: Lesson, records: Sequence[SessionRecord], policy: Policy,
    superseded: frozenset[str] = frozenset(),
) -> LessonResult:
    """A lesson's status from its sessions' verdicts.

    - ``invalid`` when a session is invalid and the policy says that taints the lesson;
    - ``valid`` when valid sessions cover ``completion_coverage`` of the media and hold a
      kept photo per class hour (``ceil(class_hours)``);
    - ``pending`` when pending sessions would complete it;
    - ``incomplete`` otherwise.
    Credited seconds count only valid sessions' coverage; class hours are credited whole,
    only to a valid lesson. ``superseded``: invalid sittings made up (补学, domain/makeup.py):
    kept as evidence in the result, they no longer taint the lesson.
    """
    need_s = policy.completion_coverage * lesson.duration_s
    need_photos = math.ceil(lesson.class_hours - 1e-9)
    ordered = sorted(records, key=lambda r: (r.started_at, r.session_id))
    invalid_rules = sorted({v.rule for r in ordered if r.verdict.status == Status.INVALID
                            and r.session_id not in superseded for v in r.verdict.violations})
    firm: list[Interval] = []
    maybe: list[Interval] = []
    firm_photos = maybe_photos = 0
    completed_at: float | None = None
    for r in ordered:
        v = r.verdict
        if v.status == Status.INVALID:
            continue
        maybe = union([*maybe, *v.covered], join=policy.coverage_join_s, hi=lesson.duration_s)
        maybe_photos += v.photos_kept
        if v.status == Status.VALID:
            firm = union([*firm, *v.covered], join=policy.coverage_join_s, hi=lesson.duration_s)
            firm_photos += v.photos_kept
        if completed_at is None and measure(maybe) >= need_s and maybe_photos >= need_photos:
            completed_at = r.ended_at if r.ended_at is not None else r.started_at
    credited = measure(firm)
    reasons: list[str] = []
    if invalid_rules and policy.invalid_session_taints_lesson:
        status: LessonVerdict = LessonVerdict.INVALID
        reasons = [f"invalid session: {code}" for code in invalid_rules]
        completed_at = None
    elif credited >= need_s and firm_photos >= need_photos:
        status = LessonVerdict.VALID
    elif completed_at is not None:
        status = LessonVerdict.PENDING
        reasons = ["sessions awaiting a verdict"]
    else:
        status = LessonVerdict.INCOMPLETE
        if measure(maybe) < need_s:
            reasons.append(f"covered {measure(maybe):.0f} s of {lesson.duration_s:.0f} s")
        if maybe_photos < need_photos:
            reasons.append(f"RANDOM_PHOTO: {maybe_photos} kept photo(s) of {need_photos}")
    return LessonResult(
        lesson_id=lesson.id,
        status=status,
        credited_seconds=credited,
        credited_class_hours=lesson.class_hours if status == LessonVerdict.VALID else 0.0,
        covered=tuple(firm),
        photos_kept=firm_photos,
        completed_at=completed_at,
        reasons=tuple(reasons),
        superseded=tuple(r.session_id for r in ordered if r.session_id in superseded),
    )


def prior_lessons(results: Sequence[LessonResult]) -> dict[str, PriorLesson]:
    """The ``SessionInput.prior_lessons`` mapping from lesson results."""
    return {r.lesson_id: PriorLesson(r.lesson_id, r.status, r.completed_at) for r in results}


def course_credit(course: Course, results: Mapping[str, LessonResult]) -> CourseResult:
    """Credited class hours of a course: the sum over its valid lessons."""
    lessons = tuple(results[x.id] if x.id in results else
                    LessonResult(x.id, LessonVerdict.INCOMPLETE, 0.0, 0.0, (), 0, None, ("not started",))
                    for x in course.lessons)
    credited = sum(r.credited_class_hours for r in lessons)
    complete = all(r.status == LessonVerdict.VALID for r in lessons) and \
        credited + 1e-9 >= course.required_class_hours
    return CourseResult(course.id, credited, course.required_class_hours, complete, lessons)
