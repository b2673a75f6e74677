"""Use case: gather one session's evidence from storage, run the pure engine, store the verdict.

The domain never calls out: this module reads what the engine needs (events, challenges, photo
outcomes, the lesson and course, the learner's overlapping sessions and earlier lessons), calls
`proctor.domain.engine.evaluate`, and writes what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from proctor.domain import engine
from proctor.domain.coverage import union
from proctor.domain.errors import NotFound
from proctor.domain.makeup import superseded_sittings
from proctor.domain.model import (
    Course,
    Event,
    EventColumns,
    Lesson,
    LessonResult,
    OtherSession,
    Outcome,
    SessionInput,
    SessionRecord,
    Status,
    Verdict,
    Violation,
)
from proctor.domain.policy import Policy
from proctor.domain.review import overturned_credit, standing_status
from proctor.domain.timeline import build_timeline
from proctor.services.evidence_reads import CourseReads, Reads, begun_before, count_begun_before
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.repositories import study as study_repo
from proctor.storage.tables import Course as CourseRow
from proctor.storage.tables import Lesson as LessonRow
from proctor.storage.tables import SessionVerdict, StudySession, TelemetryEvent

# --- storage rows -> domain values -------------------------------------------------------

def domain_event(e: TelemetryEvent) -> Event:
    return Event(seq=e.seq, type=e.type, client_ts=e.client_ts.timestamp(),
                 server_ts=e.server_ts.timestamp(), position=e.position, from_pos=e.from_pos,
                 to_pos=e.to_pos, rate=e.rate, visible=e.visible, focused=e.focused, state=e.state)


def domain_lesson(x: LessonRow) -> Lesson:
    return Lesson(id=x.ext_id, seq=x.seq, duration_s=x.duration_s, class_hours=x.class_hours)


def domain_course(course: CourseRow, lessons: Sequence[LessonRow]) -> Course:
    return Course(id=course.ext_id, lessons=tuple(domain_lesson(x) for x in lessons),
                  required_class_hours=course.required_class_hours)


def verdict_from_dict(d: dict[str, Any], *, status: str | None = None) -> Verdict:
    return Verdict(
        status=status or d["status"], credited_seconds=d["credited_seconds"],
        covered=tuple((iv[0], iv[1]) for iv in d["covered"]),
        violations=tuple(Violation(v["rule"], v["at"], v["until"], v["detail"],
                                   tuple(v.get("evidence", ())), v.get("check", ""))
                         for v in d["violations"]),
        policy_id=d["policy_id"], policy_version=d["policy_version"],
        played_seconds=d.get("played_seconds", 0.0),
        playing=tuple((iv[0], iv[1]) for iv in d.get("playing", ())),
        photos_kept=d.get("photos_kept", 0), completed=d.get("completed", False),
        pending_reasons=tuple(d.get("pending_reasons", ())),
    )


def _seconds(t: Any) -> float:
    return t if isinstance(t, float) else t.timestamp()


def domain_event_columns(lists: study_repo.EventLists) -> EventColumns:
    """Events from ``study_repo.event_columns`` lists (no object per event on the hot path);
    times there are unix seconds already (PostgreSQL) or aware datetimes."""
    seq, type_, client_ts, server_ts, *rest = lists
    if client_ts and not isinstance(client_ts[0], float):
        client_ts, server_ts = [_seconds(t) for t in client_ts], [_seconds(t) for t in server_ts]
    return EventColumns(seq, type_, client_ts, server_ts, *rest)


def events_of(s: Session, session_id: str) -> EventColumns:
    """One session's events, as the engine reads them."""
    return domain_event_columns(study_repo.event_columns(s, [session_id])[session_id])


def _standing_verdict(row: SessionVerdict | None, policy: Policy) -> Verdict:
    """The verdict that stands (a reviewer's decision over the engine's)."""
    if row is None:
        return Verdict(Status.PENDING, 0.0, (), (), policy.id, policy.version,
                       pending_reasons=("not evaluated yet",))
    status = standing_status(row.status)
    verdict = verdict_from_dict(row.result, status=status)
    if status == Status.VALID and row.engine_status == Status.INVALID:  # overturned on review
        verdict = verdict_from_dict({**row.result, "credited_seconds": overturned_credit(verdict)},
                                    status=Status.VALID)
    return verdict


# --- lesson and course standing ---------------------------------------------------------

_NO_SITTINGS: tuple[list[datetime], list[str], list[StudySession]] = ([], [], [])


def lesson_results(s: Session, *, learner_id: int, course: CourseRow, lessons: Sequence[LessonRow],
                   policy: Policy, before: datetime | None = None,
                   reads: Reads | None = None) -> dict[str, LessonResult]:
    """Each lesson's standing from its sessions' verdicts (optionally only sessions begun before)."""
    reads = reads or Reads(s)
    # judging a course in turn asks for the earlier lessons' standing again before every
    # session (~780 times a 40-lesson learner): a sitting's record is the same while its
    # verdict's revision is, and a lesson's standing the same while its sittings' are. The
    # sessions do not change while reads live, so their start times and ids are read off the
    # rows once (attribute reads on the rows were half of this function's time).
    plain = reads.remembered(("sittings as values", learner_id, course.id), lambda: {
        lesson_id: ([x.started_at for x in xs], [x.id for x in xs], xs)
        for lesson_id, xs in reads.sittings(learner_id, course.id).items()})
    policy_key = (policy.id, policy.version, id(policy))
    # when leaves (请假) were recorded, per lesson id (only read when the policy uses them)
    leaves = ({lesson_id: tuple(at) for lesson_id, at in reads.leaves(learner_id, course.id).items()}
              if policy.makeup == "after_leave" else {})

    def sitting(x: StudySession, row: SessionVerdict | None) -> SessionRecord:
        return SessionRecord(session_id=x.id, started_at=x.started_at.timestamp(),
                             ended_at=x.ended_at.timestamp() if x.ended_at else None,
                             verdict=reads.standing_verdict(row, policy, _standing_verdict))

    def standing(x: LessonRow) -> LessonResult:
        lesson_id = x.id
        starts, all_ids, rows_of_lesson = plain.get(lesson_id, _NO_SITTINGS)
        n = count_begun_before(starts, before)  # the first n sittings, oldest first
        lesson_leaves = leaves.get(lesson_id, ())
        writes = reads.verdict_writes(learner_id, lesson_id)
        if writes is None:
            return from_verdicts(x, all_ids[:n], rows_of_lesson[:n], lesson_leaves)
        # these reads see every verdict written while they live: the lesson's standing holds
        # while none of its sittings' verdicts was written (the rows need not be looked at)
        return reads.remembered(("lesson writes", learner_id, lesson_id, n, writes, *policy_key,
                                 lesson_leaves),
                                lambda: from_verdicts(x, all_ids[:n], rows_of_lesson[:n],
                                                      lesson_leaves))

    def from_verdicts(x: LessonRow, ids: list[str], sittings: list[StudySession],
                      lesson_leaves: tuple[float, ...]) -> LessonResult:
        verdicts = reads.verdicts(ids) if ids else {}
        rows = [verdicts.get(sid) for sid in ids]
        # what the standing depends on: each sitting's verdict revision (and a review's status)
        state = tuple([(sid, None, None) if row is None else (sid, row.revision, row.status)
                       for sid, row in zip(ids, rows, strict=True)])

        def aggregate() -> LessonResult:
            records = [reads.remembered(("sitting", *key, *policy_key),
                                        lambda y=y, row=row: sitting(y, row))  # type: ignore[misc]
                       for y, row, key in zip(sittings, rows, state, strict=True)]
            return engine.aggregate_lesson(
                domain_lesson(x), records, policy,
                superseded_sittings(records, policy.makeup, lesson_leaves))

        return reads.remembered(("lesson", x.id, *policy_key, lesson_leaves, state), aggregate)

    return {x.ext_id: standing(x) for x in lessons}


# --- one session ------------------------------------------------------------------------

def _lesson_and_earlier(lessons: Sequence[LessonRow]) -> dict[int, tuple[LessonRow, list[LessonRow]]]:
    """Per lesson id of the course: the lesson and those of a lower seq (in ``lessons`` order)."""
    seqs = [(x, x.seq) for x in lessons]
    return {x.id: (x, [y for y, other in seqs if other < seq]) for x, seq in seqs}


def session_input(s: Session, study: StudySession, policy: Policy, *, now: datetime,
                  reads: Reads | None = None) -> SessionInput:
    reads = reads or Reads(s)
    course = reads.course(study.course_id)
    assert course is not None
    lessons = reads.lessons(course.id)
    # the lesson and those before it, per lesson of the course (the same while reads live)
    lesson_row, earlier = reads.remembered(
        ("lessons and earlier", course.id), lambda: _lesson_and_earlier(lessons))[study.lesson_id]
    events = domain_event_columns(reads.event_columns([study.id])[study.id])
    end = study.ended_at or study.last_event_at or now
    others = []
    overlapping = reads.overlapping(study.learner_id, study.id, study.started_at, end)
    their_events = reads.event_columns([x.id for x in overlapping])
    for other in overlapping:
        playing = build_timeline(domain_event_columns(their_events[other.id]),
                                 policy).playing_intervals()
        if playing:
            others.append(OtherSession(other.id, tuple(playing)))
    prior = engine.prior_lessons(list(lesson_results(
        s, learner_id=study.learner_id, course=course, lessons=earlier, policy=policy,
        before=study.started_at, reads=reads).values())) if earlier else {}
    # media of this lesson already covered by earlier sessions that stand valid (the resume point)
    same_lesson = begun_before(reads.sittings(study.learner_id, course.id).get(lesson_row.id, []),
                               study.started_at)
    stored = reads.verdicts([x.id for x in same_lesson])
    prior_covered = union([iv for x in same_lesson
                           for iv in reads.standing_verdict(stored.get(x.id), policy,
                                                            _standing_verdict).covered
                           if stored.get(x.id) is not None and stored[x.id].status == Status.VALID],
                          join=policy.coverage_join_s, lo=0.0, hi=lesson_row.duration_s)
    photos = reads.domain_photos(study.id)
    return SessionInput(
        session_id=study.id, learner_id=str(study.learner_id), lesson=domain_lesson(lesson_row),
        course=reads.remembered(("course", course.id), lambda: domain_course(course, lessons)),
        events=events,
        challenges=reads.domain_challenges(study.id),
        photos=photos, other_sessions=others, prior_lessons=prior,
        prior_covered=tuple(prior_covered), started_at=study.started_at.timestamp(),
        ended_at=study.ended_at.timestamp() if study.ended_at else None,
    )


@dataclass(frozen=True)
class Evaluated:
    session_id: str
    status: str
    previous_status: str | None
    verdict: Verdict
    # a pending verdict that may change by the clock alone (events still in flight, a challenge
    # still open): judge it again then
    recheck_at: datetime | None = None

    @property
    def changed(self) -> bool:
        return self.status != self.previous_status


def evaluate_session(uow: UnitOfWork, *, session_id: str, policy: Policy, now: datetime,
                     reads: Reads | None = None, flush: bool = True,
                     add_first: bool = False) -> Evaluated:
    """Judge a session now and store the verdict. A reviewer's decision keeps standing.
    ``reads``: preloaded evidence (:class:`CourseReads`) when judging many sessions together.
    ``add_first``: a first verdict is added to the unit of work as a plain new row (inserted
    with the batch's flush) instead of upserted on its own (two statements per session); the
    caller then handles a first verdict stored meanwhile by someone else (an integrity error)."""
    s = uow.session
    reads = reads or Reads(s)
    study = s.get(StudySession, session_id)
    if study is None:
        raise NotFound(f"unknown session {session_id!r}", field="session_id")
    inp = session_input(s, study, policy, now=now, reads=reads)
    verdict = engine.evaluate(inp, policy, now=now.timestamp())
    recheck: list[float] = []
    wait = engine.in_flight_until(inp.events, policy)
    if wait is not None and now.timestamp() < wait:
        # Not final yet: what the rules found so far stays visible, the status waits.
        verdict = replace(verdict, status=Status.PENDING, pending_reasons=(
            *verdict.pending_reasons, "events may still be in flight until "
            f"{datetime.fromtimestamp(wait, UTC).isoformat(timespec='seconds')}"))
        recheck.append(wait)
    if verdict.status == Status.PENDING:  # an open challenge settles by the clock alone
        recheck.extend(c.expires_at + 1.0 for c in inp.challenges
                       if c.outcome == Outcome.PENDING and c.expires_at >= now.timestamp())
    recheck_at = max(recheck) if recheck else None
    result = verdict.to_dict() if recheck_at is None else {**verdict.to_dict(),
                                                           "recheck_at": recheck_at}
    row = reads.verdict(session_id)
    previous = row.status if row is not None else None
    fields = dict(engine_status=verdict.status, credited_seconds=verdict.credited_seconds,
                  result=result, rules=sorted(verdict.rules_broken),
                  policy_id=verdict.policy_id, policy_version=verdict.policy_version,
                  evaluated_at=now)
    if row is None and add_first:
        row = SessionVerdict(session_id=session_id, status=Status.PENDING, revision=0,
                             reviewed=False, institution_id=study.institution_id,
                             session_started_at=study.started_at, **fields)
        s.add(row)
    elif row is None:
        row = ev_repo.first_verdict_row(s, session_id, fields)
    for key, value in fields.items():
        setattr(row, key, value)
    row.revision += 1
    if not row.reviewed:
        row.status = verdict.status
    reads.stored(row)
    if flush:  # a batch flushes its verdicts together
        s.flush()
    return Evaluated(session_id, row.status, previous, verdict,
                     datetime.fromtimestamp(recheck_at, UTC) if recheck_at is not None else None)


def later_sessions(s: Session, study: StudySession) -> list[str]:
    """Sessions of the same learner and course on later lessons: LESSON_ORDER may change for them."""
    lessons = {x.id: x.seq for x in reg_repo.lessons_of(s, study.course_id)}
    mine = lessons[study.lesson_id]
    return [x.id for x in ev_repo.sessions_of_learner(s, study.learner_id, course_id=study.course_id)
            if lessons.get(x.lesson_id, 0) > mine]


def evaluate_course(uow: UnitOfWork, *, learner_id: int, course_id: int, policy: Policy,
                    now: datetime, hold: list[object] | None = None) -> list[Evaluated]:
    """Judge every session of one learner in one course, oldest first, from evidence loaded in
    a few queries (the same verdicts as judging them one by one with `evaluate_session`).

    On PostgreSQL the sessions' first verdicts are inserted together, in a savepoint; if one of
    them was stored meanwhile (a worker judged that session at the same moment), the savepoint
    is rolled back and the course judged again with one upsert per first verdict.

    ``hold``: the evidence read is kept there, so what follows the verdicts in the same unit of
    work (the verdict flow: the session, its verdict, its institution) finds it in the
    session's identity map, which only keeps objects someone refers to, instead of reading
    it again per session."""
    s = uow.session
    if s.get_bind().dialect.name == "postgresql":
        try:
            with s.begin_nested():
                return _evaluate_course(uow, learner_id=learner_id, course_id=course_id,
                                        policy=policy, now=now, add_first=True, hold=hold)
        except IntegrityError:
            pass
    return _evaluate_course(uow, learner_id=learner_id, course_id=course_id, policy=policy,
                            now=now, add_first=False, hold=hold)


def _evaluate_course(uow: UnitOfWork, *, learner_id: int, course_id: int, policy: Policy,
                     now: datetime, add_first: bool, hold: list[object] | None) -> list[Evaluated]:
    reads = CourseReads(uow.session, learner_id=learner_id, course_id=course_id)
    if hold is not None:
        hold.append(reads)
    done = [evaluate_session(uow, session_id=sid, policy=policy, now=now, reads=reads,
                             flush=False, add_first=add_first) for sid in reads.session_ids()]
    uow.session.flush()
    return done
