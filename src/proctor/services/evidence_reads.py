"""What evaluation reads from storage, one query per need (:class:`Reads`), or preloaded for a
whole learner-course at once (:class:`CourseReads`: a handful of queries for every session of
the course, instead of ten per session; used when many sessions are judged together, e.g. by
`proctor reevaluate`). Both answer exactly the same questions the same way."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.domain.model import PHOTO_VERDICTS, PhotoOutcome
from proctor.domain.model import Challenge as DomainChallenge
from proctor.domain.policy import Policy
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.repositories import study as study_repo
from proctor.storage.tables import (
    Course,
    Institution,
    Leave,
    Lesson,
    SessionVerdict,
    StudySession,
)

V = TypeVar("V")


class ChallengeView(Protocol):
    """What evaluation reads of a challenge (a stored row, or just those columns)."""

    id: str
    kind: str
    issued_at: datetime
    expires_at: datetime
    received_at: datetime | None
    outcome: str
    issued_playback_s: float | None
    plan_index: int | None


# --- stored rows -> the engine's values --------------------------------------------------

def domain_challenge(c: ChallengeView) -> DomainChallenge:
    """The engine's value of a stored challenge row."""
    return _challenge_of_values((None, c.id, c.kind, c.issued_at.timestamp(),
                                 c.expires_at.timestamp(),
                                 c.received_at.timestamp() if c.received_at else None,
                                 c.outcome, c.issued_playback_s, c.plan_index))


def _challenge_of_values(v: tuple[Any, ...]) -> DomainChallenge:
    """The engine's value of an ``ev_repo.challenge_values`` tuple (times in seconds)."""
    _sid, cid, kind, issued, expires, received, outcome, playback, plan = v
    # The server's receive time, not the client's word, says when it was answered. In field
    # order, positionally (id, kind, issued_at, expires_at, answered_at, outcome,
    # issued_playback_s, plan_index): ~840 a learner when re-judging, and keywords cost 20% more.
    return DomainChallenge(cid, kind, issued, expires, received, outcome, playback, plan)


def _photo_of_values(v: tuple[Any, ...]) -> PhotoOutcome | None:
    """The engine's value of an ``ev_repo.photo_values`` tuple (times in seconds)."""
    _sid, pid, cid, taken, outcome, distance, reasons = v
    if outcome not in PHOTO_VERDICTS:  # the face pipeline's verdicts (near_duplicate too)
        return None  # not judged yet: the challenge stays pending meanwhile
    return PhotoOutcome(id=pid, challenge_id=cid, taken_at=taken, outcome=outcome,
                        distance=distance, reasons=tuple(reasons or ()))


def count_begun_before(starts: Sequence[Any], at: datetime | None, *,
                       key: Callable[[Any], datetime] | None = None) -> int:
    """How many of a lesson's sittings (oldest first) began strictly before ``at`` (all of them
    when None): ``starts`` are their start times, or the sittings themselves with ``key``."""
    return len(starts) if at is None else bisect_left(starts, at, key=key)


def begun_before(sittings: Sequence[StudySession], at: datetime | None) -> Sequence[StudySession]:
    """Of a lesson's sittings (oldest first, as ``sittings_by_lesson`` keeps them), those begun
    before ``at`` (all of them when None)."""
    if at is None:
        return sittings
    return sittings[:count_begun_before(sittings, at, key=attrgetter("started_at"))]


def sittings_by_lesson(sessions: Sequence[StudySession]) -> dict[int, list[StudySession]]:
    """``sessions`` (oldest first) per lesson id."""
    out: dict[int, list[StudySession]] = {}
    for x in sessions:
        out.setdefault(x.lesson_id, []).append(x)
    return out


class Reads:
    """Straight from the database, per question."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self._parsed: dict[tuple[str, int, str, str], Any] = {}
        self._memo: dict[Hashable, Any] = {}

    def standing_verdict(self, row: SessionVerdict | None, policy: Policy,
                         parse: Callable[[SessionVerdict | None, Policy], V]) -> V:
        """``parse(row, policy)``, remembered per verdict revision: judging a course's sessions
        in turn reads the earlier lessons' verdicts again and again."""
        if row is None:
            return parse(row, policy)
        key = (row.session_id, row.revision, row.status, f"{policy.id}@{policy.version}")
        if key not in self._parsed:
            self._parsed[key] = parse(row, policy)
        return self._parsed[key]

    def remembered(self, key: Hashable, compute: Callable[[], V]) -> V:
        """``compute()``, remembered under ``key`` for as long as these reads live (``key``
        must name everything the value depends on)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return cast(V, self._memo[key])

    def course(self, course_id: int) -> Course | None:
        return self.s.get(Course, course_id)

    def lessons(self, course_id: int) -> list[Lesson]:
        return reg_repo.lessons_of(self.s, course_id)

    def event_columns(self, session_ids: Sequence[str]) -> dict[str, study_repo.EventLists]:
        return study_repo.event_columns(self.s, session_ids)

    def sessions_of_learner(self, learner_id: int, course_id: int) -> list[StudySession]:
        return ev_repo.sessions_of_learner(self.s, learner_id, course_id=course_id)

    def sittings(self, learner_id: int, course_id: int) -> dict[int, list[StudySession]]:
        """The learner's sessions in the course per lesson id, oldest first."""
        return sittings_by_lesson(self.sessions_of_learner(learner_id, course_id))

    def overlapping(self, learner_id: int, session_id: str, start: datetime,
                    end: datetime) -> list[StudySession]:
        return ev_repo.overlapping_sessions(self.s, learner_id, session_id, start, end)

    def verdicts(self, session_ids: Sequence[str]) -> dict[str, SessionVerdict]:
        return ev_repo.verdicts_for(self.s, session_ids)

    def verdict(self, session_id: str) -> SessionVerdict | None:
        return ev_repo.verdict_of(self.s, session_id)

    def domain_challenges(self, session_id: str) -> list[DomainChallenge]:
        """The session's challenges as the engine reads them, oldest first."""
        return [_challenge_of_values(v) for v in ev_repo.challenge_values(self.s, [session_id])]

    def domain_photos(self, session_id: str) -> list[PhotoOutcome]:
        """The session's judged photos as the engine reads them, in the order taken."""
        return [p for p in map(_photo_of_values, ev_repo.photo_values(self.s, [session_id]))
                if p is not None]

    def stored(self, row: SessionVerdict) -> None:
        """A verdict row was added or written (preloading readers remember it)."""

    def verdict_writes(self, learner_id: int, lesson_id: int) -> int | None:
        """How many verdicts of the learner's sittings of the lesson were written through
        ``stored`` while these reads live, when they see every write (nothing else writes
        verdicts meanwhile); None when they don't: the rows themselves tell then (their
        revisions)."""
        return None

    def leaves(self, learner_id: int, course_id: int) -> dict[int, list[float]]:
        """When leaves (请假) were recorded, per lesson id."""
        out: dict[int, list[float]] = {}
        for lesson_id, at in self.s.execute(select(Leave.lesson_id, Leave.recorded_at)
                                            .where(Leave.learner_id == learner_id,
                                                   Leave.course_id == course_id)):
            out.setdefault(lesson_id, []).append(at.timestamp())
        return out


class CohortReads(Reads):
    """Many learners of one course at once (an institution page, a roster): their sessions in
    the course, the verdicts of those sessions and their leaves in three queries, instead of
    three per learner.

    The verdicts are read as summaries (``ev_repo.verdict_summaries``): of their violations
    only the rules broken, which is all a lesson's standing reads of them
    (``engine.aggregate_lesson``); shipping and parsing every violation of every verdict was
    most of an institution page's time. ``summaries=False`` reads them whole."""

    def __init__(self, s: Session, *, learner_ids: Sequence[int], course_id: int,
                 summaries: bool = True) -> None:
        super().__init__(s)
        self.course_id = course_id
        self._sessions: dict[int, list[StudySession]] = {x: [] for x in learner_ids}
        self._verdicts: dict[str, SessionVerdict] = {}
        self._leaves: dict[int, dict[int, list[float]]] = {x: {} for x in learner_ids}
        for chunk in _chunks(list(learner_ids)):
            rows = list(s.scalars(select(StudySession).where(StudySession.course_id == course_id,
                                                             StudySession.learner_id.in_(chunk))
                                  .order_by(StudySession.started_at, StudySession.id)))
            for x in rows:
                self._sessions[x.learner_id].append(x)
            ids = [x.id for x in rows]
            self._verdicts.update({sid: _summary_row(x) for sid, x in
                                   ev_repo.verdict_summaries(s, ids).items()}
                                  if summaries else ev_repo.verdicts_for(s, ids))
            for learner_id, lesson_id, at in s.execute(
                    select(Leave.learner_id, Leave.lesson_id, Leave.recorded_at)
                    .where(Leave.course_id == course_id, Leave.learner_id.in_(chunk))):
                self._leaves[learner_id].setdefault(lesson_id, []).append(at.timestamp())

    def sessions_of_learner(self, learner_id: int, course_id: int) -> list[StudySession]:
        if course_id != self.course_id or learner_id not in self._sessions:
            return super().sessions_of_learner(learner_id, course_id)
        return list(self._sessions[learner_id])

    def verdicts(self, session_ids: Sequence[str]) -> dict[str, SessionVerdict]:
        missing = [sid for sid in session_ids if sid not in self._verdicts]
        found = {sid: self._verdicts[sid] for sid in session_ids if sid in self._verdicts}
        return found | (super().verdicts(missing) if missing else {})

    def leaves(self, learner_id: int, course_id: int) -> dict[int, list[float]]:
        if course_id != self.course_id or learner_id not in self._leaves:
            return super().leaves(learner_id, course_id)
        return self._leaves[learner_id]


def _summary_row(x: ev_repo.VerdictSummary) -> SessionVerdict:
    """A verdict row made from its summary, for reading only (never added to the session):
    each rule broken stands for the violations of that rule (no times, detail or evidence);
    a verdict that stands invalid keeps no coverage (it counts for nothing in its lesson)."""
    violations = [{"rule": rule, "at": 0.0, "until": 0.0, "detail": ""} for rule in x.rules]
    result = x.result if x.result is not None else {
        "credited_seconds": x.credited_seconds, "covered": [], "policy_id": x.policy_id,
        "policy_version": x.policy_version}
    return SessionVerdict(session_id=x.session_id, status=x.status, engine_status=x.engine_status,
                          revision=x.revision, credited_seconds=x.credited_seconds,
                          policy_id=x.policy_id, policy_version=x.policy_version,
                          rules=list(x.rules), result={**result, "violations": violations})


def _chunks(values: list[int], size: int = 500) -> list[list[int]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


class CourseReads(Reads):
    """Everything about one learner in one course, loaded up front in a few queries: the
    learner's sessions (every course, for overlaps), the course's lessons, and the events,
    challenges, photos and verdicts of those sessions. Other sessions' events (another course
    overlapping) are fetched on demand."""

    def __init__(self, s: Session, *, learner_id: int, course_id: int) -> None:
        super().__init__(s)
        self.learner_id, self.course_id = learner_id, course_id
        self._all = list(s.scalars(select(StudySession)
                                   .where(StudySession.learner_id == learner_id)
                                   .order_by(StudySession.started_at, StudySession.id)))
        self._mine = [x for x in self._all if x.course_id == course_id]
        # each session's span as plain values, for the overlap question asked per session
        self._spans = [(x, x.id, x.started_at, x.ended_at or x.last_event_at or x.started_at)
                       for x in self._all]
        self._sittings = sittings_by_lesson(self._mine)
        self._lesson_of = {x.id: x.lesson_id for x in self._mine}
        self._writes: dict[int, int] = {}  # per lesson id: verdicts written (``stored``)
        ids = [x.id for x in self._mine]
        self._lessons = reg_repo.lessons_of(s, course_id)
        self._lesson_ids = {x.id for x in self._lessons}
        # held here: the identity map keeps objects only while someone refers to them
        self._course = s.get(Course, course_id)
        self._events = study_repo.event_columns(s, ids)
        # the engine's values straight from value tuples (never changed here: no ORM objects)
        self._challenges: dict[str, list[DomainChallenge]] = {sid: [] for sid in ids}
        for c in ev_repo.challenge_values(s, ids):
            self._challenges[c[0]].append(_challenge_of_values(c))
        self._photos: dict[str, list[PhotoOutcome]] = {sid: [] for sid in ids}
        for p in ev_repo.photo_values(s, ids):
            photo = _photo_of_values(p)
            if photo is not None:
                self._photos[p[0]].append(photo)
        self._verdicts = ev_repo.verdicts_for(s, [x.id for x in self._all])
        self._leaves = super().leaves(learner_id, course_id)
        # held too: what follows each verdict (callbacks) looks the institution up by id
        self._held = [s.get(Institution, i) for i in {x.institution_id for x in self._mine}]

    def session_ids(self) -> list[str]:
        """The course's sessions, oldest first."""
        return [x.id for x in self._mine]

    def course(self, course_id: int) -> Course | None:
        return self._course if course_id == self.course_id else super().course(course_id)

    def lessons(self, course_id: int) -> list[Lesson]:
        return self._lessons if course_id == self.course_id else super().lessons(course_id)

    def event_columns(self, session_ids: Sequence[str]) -> dict[str, study_repo.EventLists]:
        missing = [sid for sid in session_ids if sid not in self._events]
        if missing:
            self._events.update(study_repo.event_columns(self.s, missing))
        return {sid: self._events[sid] for sid in session_ids}

    def sessions_of_learner(self, learner_id: int, course_id: int) -> list[StudySession]:
        if (learner_id, course_id) != (self.learner_id, self.course_id):
            return super().sessions_of_learner(learner_id, course_id)
        return list(self._mine)

    def sittings(self, learner_id: int, course_id: int) -> dict[int, list[StudySession]]:
        if (learner_id, course_id) != (self.learner_id, self.course_id):
            return super().sittings(learner_id, course_id)
        return self._sittings

    def overlapping(self, learner_id: int, session_id: str, start: datetime,
                    end: datetime) -> list[StudySession]:
        if learner_id != self.learner_id:
            return super().overlapping(learner_id, session_id, start, end)
        return [x for x, sid, begun, last in self._spans
                if sid != session_id and begun <= end and last >= start]

    def verdicts(self, session_ids: Sequence[str]) -> dict[str, SessionVerdict]:
        return {sid: self._verdicts[sid] for sid in session_ids if sid in self._verdicts}

    def verdict(self, session_id: str) -> SessionVerdict | None:
        return self._verdicts.get(session_id)

    def domain_challenges(self, session_id: str) -> list[DomainChallenge]:
        found = self._challenges.get(session_id)
        return list(found) if found is not None else super().domain_challenges(session_id)

    def domain_photos(self, session_id: str) -> list[PhotoOutcome]:
        found = self._photos.get(session_id)
        return list(found) if found is not None else super().domain_photos(session_id)

    def stored(self, row: SessionVerdict) -> None:
        self._verdicts[row.session_id] = row
        lesson_id = self._lesson_of.get(row.session_id)
        if lesson_id is not None:
            self._writes[lesson_id] = self._writes.get(lesson_id, 0) + 1

    def verdict_writes(self, learner_id: int, lesson_id: int) -> int | None:
        # one learner-course judged in one unit of work: its verdicts are written only by
        # evaluation.evaluate_session, which tells ``stored``
        if learner_id != self.learner_id or lesson_id not in self._lesson_ids:
            return None
        return self._writes.get(lesson_id, 0)

    def leaves(self, learner_id: int, course_id: int) -> dict[int, list[float]]:
        if (learner_id, course_id) != (self.learner_id, self.course_id):
            return super().leaves(learner_id, course_id)
        return self._leaves
