"""Bench section: one whole 40-class-hour course evaluated from PostgreSQL.

Setup (not timed): the bench database is reset and migrated; one learner of one institution
studies a course of 40 lessons (40-45 min each, one class hour each) in order, one sitting per
lesson, acted out by the simulator's honest learner (10 s heartbeats, pauses, seek-backs, blurs,
lost heartbeats; ~12k events), its challenges drawn by the real scheduler and its photos
matched. Events, challenges and photos are stored as the API would store them; each session
is then judged once so that every verdict exists.

Timed (median of runs, warm connection pool, each run in its own transaction, rolled back so
every run sees the same data):
- ``course_eval_pg_ms``: judge every session of the course again from PostgreSQL, oldest
  first, exactly as the evaluation task does (`services.evaluation.evaluate_session`): read
  each session's events, challenges, photos, lesson and course, the learner's overlapping
  sessions and the stored verdicts of earlier lessons (LESSON_ORDER), run the engine, write
  the verdict (flushed, then rolled back). Target < 200 ms.
- ``course_standing_pg_ms``: the learner's standing in the course from the stored verdicts
  (`services.standing.standing`: per-lesson status, credited class hours, exam eligibility) —
  what `GET /v1/enrolments/{learner}/{course}` computes.
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select, text

from proctor.bench import Section
from proctor.bench.ingest import _reset_pg
from proctor.config import Settings
from proctor.domain.model import Lesson as DomainLesson
from proctor.domain.policy import Policy, load_policy
from proctor.services.evaluation import evaluate_course, evaluate_session
from proctor.services.registration import issue_platform_key
from proctor.services.standing import standing
from proctor.simulation.delivery import deliver
from proctor.simulation.engine_driver import BASE_T, EngineGateway
from proctor.simulation.learner import act_session
from proctor.simulation.scenarios import HONEST
from proctor.storage.db import UnitOfWork, engine_for, session_factory, unit_of_work
from proctor.storage.repositories import study as study_repo
from proctor.storage.tables import (
    Challenge,
    Course,
    Enrolment,
    Learner,
    Lesson,
    Photo,
    StudySession,
)

PG_URL = os.environ.get("PROCTOR_PG_BENCH_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/proctor_bench")
LESSONS = 40
RUNS = 7
TARGET_MS = 200.0


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _store_course(uow: UnitOfWork, policy: Policy, rng: random.Random) -> tuple[int, int, int]:
    """The course, learner and 40 sittings; returns (institution id, learner id, course id)."""
    s = uow.session
    issued = issue_platform_key(uow, institution=f"bench-{uuid.uuid4().hex[:8]}",
                                county_code="410105")
    inst_id = issued.institution_id
    course = Course(institution_id=inst_id, ext_id="elec-40h", title="物流信息员 (40 学时)",
                    occupation="物流信息员", required_class_hours=float(LESSONS),
                    offline_practical_hours=8.0)
    s.add(course)
    s.flush()
    lessons = [Lesson(course_id=course.id, ext_id=f"L{i}", seq=i, title=f"第{i}课",
                      duration_s=round(rng.uniform(2400, 2700), 1), class_hours=1.0)
               for i in range(1, LESSONS + 1)]
    learner = Learner(institution_id=inst_id, ext_id="stu-1", real_name="张伟",
                      id_number="410105199003070015")
    s.add_all([*lessons, learner])
    s.flush()
    s.add(Enrolment(learner_id=learner.id, course_id=course.id, class_batch="bench",
                    start_date=date(2023, 11, 1), practical_hours=8))
    t = BASE_T
    for lesson in lessons:
        sid = str(uuid.uuid4())
        gateway = EngineGateway(sid, policy, DomainLesson(lesson.ext_id, lesson.seq,
                                                          lesson.duration_s, 1.0), rng)
        script = act_session(HONEST, lesson.duration_s, 0.0, t, rng, gateway)
        gateway.close(script.closed_at + policy.challenge_expiry_s + 1)
        arrived = deliver(script.events, HONEST, rng, opened_at=script.opened_at,
                          closed_at=script.closed_at)
        s.add(StudySession(id=sid, institution_id=inst_id, learner_id=learner.id,
                           course_id=course.id, lesson_id=lesson.id, client={}, status="ended",
                           started_at=_at(script.opened_at), ended_at=_at(script.closed_at),
                           last_event_at=_at(max(d.server_ts for d in arrived))))
        s.flush()
        ids = {c.id: str(uuid.uuid4()) for c in gateway.challenges}
        for c in gateway.challenges:
            s.add(Challenge(id=ids[c.id], session_id=sid,
                            institution_id=inst_id, kind=c.kind, prompt="bench",
                            plan_index=c.plan_index, issued_playback_s=c.issued_playback_s,
                            issued_at=_at(c.issued_at), expires_at=_at(c.expires_at),
                            answered_at=_at(c.answered_at) if c.answered_at else None,
                            received_at=_at(c.answered_at) if c.answered_at else None,
                            outcome=c.outcome))
        s.flush()
        for i, p in enumerate(gateway.photos):
            s.add(Photo(id=str(uuid.uuid4()), session_id=sid, challenge_id=ids[p.challenge_id],
                        learner_id=learner.id, institution_id=inst_id, frame_index=i,
                        taken_at=_at(p.taken_at), sha256=uuid.uuid4().hex * 2,
                        content_type="image/jpeg", outcome=p.outcome, distance=p.distance,
                        reasons=[]))
        rows: dict[int, study_repo.NewEvent] = {}
        for d in arrived:  # the idempotent inbox keeps the first arrival of each event
            e = d.raw
            rows.setdefault(e.seq, (
                sid, f"{sid}-{e.seq}", e.seq, e.type, _at(d.client_ts), _at(d.server_ts),
                (e.position, e.from_pos, e.to_pos, e.rate, e.visible, e.focused, e.state), None))
        study_repo.insert_events(s, list(rows.values()),
                                 {sid: study_repo.day_number(_at(script.opened_at))})
        s.flush()
        t = script.closed_at + rng.uniform(300, 3600)
    return inst_id, learner.id, course.id


def _session_ids(uow: UnitOfWork, course_id: int) -> list[str]:
    return list(uow.session.scalars(select(StudySession.id)
                                    .where(StudySession.course_id == course_id)
                                    .order_by(StudySession.started_at)))


def _judge(factory, fn) -> list[str]:  # type: ignore[no-untyped-def]
    """One run in its own transaction, rolled back so every run sees the same data."""
    session = factory()
    try:
        return fn(UnitOfWork(session))
    finally:
        session.rollback()
        session.close()


def _median_ms(fn, runs: int = RUNS) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), times


def _runs(xs: list[float]) -> str:
    return ", ".join(f"{x:.0f}" for x in xs)


def run() -> Section:
    policy = load_policy("henan-2021")
    _reset_pg(PG_URL)
    factory = session_factory(engine_for(PG_URL))
    with unit_of_work(factory) as uow:
        _, learner_id, course_id = _store_course(uow, policy, random.Random(40))
    with unit_of_work(factory) as uow:
        ids = _session_ids(uow, course_id)
        n_events = uow.session.scalar(text("SELECT count(*) FROM events"))
    now = _at(BASE_T + 400 * 86400)
    with unit_of_work(factory) as uow:  # every verdict stored once
        for sid in ids:
            evaluate_session(uow, session_id=sid, policy=policy, now=now)
    def together(uow: UnitOfWork) -> list[str]:  # as `proctor reevaluate` does
        return [d.status for d in evaluate_course(uow, learner_id=learner_id, course_id=course_id,
                                                  policy=policy, now=now)]

    def one_by_one(uow: UnitOfWork) -> list[str]:  # as the evaluation task does, 40 times
        return [evaluate_session(uow, session_id=sid, policy=policy, now=now).status
                for sid in ids]

    statuses = _judge(factory, together)
    assert statuses == _judge(factory, one_by_one), "batched and per-session verdicts differ"
    eval_ms, eval_runs = _median_ms(lambda: _judge(factory, together))
    each_ms, each_runs = _median_ms(lambda: _judge(factory, one_by_one))

    settings = Settings(database_url=PG_URL)

    def standing_once() -> None:
        with unit_of_work(factory) as uow:
            s = uow.session
            learner, course = s.get(Learner, learner_id), s.get(Course, course_id)
            assert learner is not None and course is not None
            st = standing(s, learner=learner, course=course,
                          policy=policy, settings=settings, today=now.date())
            assert st.eligibility.credited_class_hours == LESSONS, st.eligibility

    standing_once()
    standing_ms, standing_runs = _median_ms(standing_once)
    valid = statuses.count("valid")
    verdict = "meets" if eval_ms < TARGET_MS else "misses"
    rows = [
        ("course_eval_pg_ms", f"all {len(ids)} sessions judged again together (`evaluate_course`,"
         " as `proctor reevaluate` does): evidence read in a few queries, engine, verdicts "
         "written", eval_ms, eval_runs),
        ("course_eval_per_session_pg_ms", f"the same {len(ids)} sessions judged one by one "
         "(`evaluate_session`, as the evaluation task does; ~10 queries each)", each_ms,
         each_runs),
        ("course_standing_pg_ms", "the learner's standing from the stored verdicts (per-lesson "
         "status, class hours, exam eligibility: `GET /v1/enrolments/…`)", standing_ms,
         standing_runs),
    ]
    table = "\n".join(f"| `{key}` | {what} | {ms:.1f} | {_runs(runs)} |"
                      for key, what, ms, runs in rows)
    md = f"""
One learner's whole course in PostgreSQL: {LESSONS} lessons of 40-45 min (one class hour each),
one honest sitting each (the simulator's learner: 10 s heartbeats, pauses, seek-backs, blurs,
lost and duplicated events), {n_events:,} events, their drawn challenges and matched photos
({valid}/{len(ids)} sessions valid). Median of {RUNS} runs, warm connection pool, each run one
transaction rolled back afterwards.

| figure | what is timed | median ms | runs (ms) |
|---|---|---|---|
{table}

Target: the whole course < {TARGET_MS:.0f} ms including the database reads ({verdict} it).
"""
    return Section("Course evaluation from PostgreSQL",
                   {"course_eval_pg_ms": round(eval_ms, 1),
                    "course_eval_per_session_pg_ms": round(each_ms, 1),
                    "course_standing_pg_ms": round(standing_ms, 1),
                    "course_eval_events": int(n_events or 0)}, md)
