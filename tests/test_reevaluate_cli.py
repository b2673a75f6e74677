"""`proctor reevaluate`: stored sessions judged again under another policy version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import proctor
from proctor.domain.policy import POLICY_DIR
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import AuditEntry, SessionVerdict
from tests.api.sitting import Sitting, install_clock
from tests.factories import Platform

DURATION = 600.0


def _proctor(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    # the code under test (this checkout's src/), not whichever copy the venv has installed
    src = str(Path(proctor.__file__).resolve().parents[1])
    env = {**os.environ, "PROCTOR_DATABASE_URL": database_url,
           "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    env.pop("PROCTOR_CONFIG_FILE", None)
    env.pop("PROCTOR_BROKER_URL", None)
    return subprocess.run([sys.executable, "-m", "proctor.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _lenient_policy(tmp_path: Path) -> Path:
    """henan-2021 version 2 without the lesson-order rule (a policy change to re-run under)."""
    text = (POLICY_DIR / "henan-2021.toml").read_text()
    text = text.replace('version = "1"', 'version = "2"')
    text = text.replace("enforce_lesson_order = true", "enforce_lesson_order = false")
    path = tmp_path / "henan-2021-v2.toml"
    path.write_text(text)
    return path


def _sit(platform: Platform, client: TestClient, clock: Any, learner: str, lesson: str) -> str:
    s = Sitting.open(platform, client, clock, learner_id=learner, lesson_id=lesson)
    s.start()
    s.finish(DURATION)
    clock.advance(300)
    return s.session_id


def _verdicts(database_url: str) -> dict[str, SessionVerdict]:
    with unit_of_work(session_factory(engine_for(database_url))) as uow:
        rows = list(uow.session.scalars(select(SessionVerdict)))
        uow.session.expunge_all()
    return {r.session_id: r for r in rows}


def test_reevaluate_course_under_a_new_policy(platform: Platform, other_platform: Platform,
                                              app_client: TestClient, database_url: str,
                                              tmp_path: Path) -> None:
    clock = install_clock(app_client)
    for p in (platform, other_platform):
        p.course(lessons=2, duration_s=DURATION, class_hours=0.25)
    for learner in ("stu-1", "stu-2"):
        platform.learner(learner)
        platform.enrol(learner)
    other_platform.learner("stu-9")
    other_platform.enrol("stu-9")
    skipped = _sit(platform, app_client, clock, "stu-1", "L2")  # before L1: LESSON_ORDER
    in_order = _sit(platform, app_client, clock, "stu-1", "L1")
    reviewed = _sit(platform, app_client, clock, "stu-2", "L2")
    elsewhere = _sit(other_platform, app_client, clock, "stu-9", "L2")
    before = _verdicts(database_url)
    assert [before[x].status for x in (skipped, in_order, reviewed, elsewhere)] == [
        "invalid", "valid", "invalid", "invalid"]
    with unit_of_work(session_factory(engine_for(database_url))) as uow:  # a reviewer upheld it
        row = uow.session.get(SessionVerdict, reviewed)
        assert row is not None
        row.reviewed = True

    out = _proctor(database_url, "reevaluate", "--course", "elec-101", "--policy",
                   str(_lenient_policy(tmp_path)), "--institution", platform.institution)
    assert out.returncode == 0, out.stderr
    assert "3 session(s) of course elec-101 re-evaluated under henan-2021@2" in out.stdout
    assert "1 verdict(s) changed" in out.stdout and "invalid -> valid: 1" in out.stdout
    assert "1 reviewed verdict(s) kept their reviewed status" in out.stdout

    after = _verdicts(database_url)
    assert after[skipped].status == "valid" and after[skipped].policy_version == "2"
    assert after[in_order].status == "valid" and after[in_order].policy_version == "2"
    assert after[reviewed].status == "invalid" and after[reviewed].engine_status == "valid"
    assert after[reviewed].policy_version == "2" and after[reviewed].reviewed
    # another institution's course with the same id was not touched
    assert after[elsewhere].policy_version == "1" and after[elsewhere].status == "invalid"
    # the API serves the new verdict with the policy that made it
    v = platform.api.get(f"/v1/sessions/{skipped}/verdict").json()
    assert v["status"] == "valid" and (v["policy_id"], v["policy_version"]) == ("henan-2021", "2")
    # the verdict flow ran after each verdict: the changed final verdict is in the audit log
    with session_factory(engine_for(database_url))() as s:
        rejudged = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "verdict.rejudged")))
    assert [(e.subject, e.payload["from"], e.payload["to"], e.payload["policy"])
            for e in rejudged] == [(f"session:{skipped}", "invalid", "valid", "henan-2021@2")]


def test_reevaluate_refuses_unknown_course_and_policy(database_url: str, settings: Any) -> None:
    out = _proctor(database_url, "reevaluate", "--course", "nope", "--policy", "henan-2021")
    assert out.returncode == 2 and "no course 'nope'" in out.stderr
    out = _proctor(database_url, "reevaluate", "--course", "nope", "--policy", "no-such-policy")
    assert out.returncode == 2 and "no-such-policy" in out.stderr


def test_course_judged_together_matches_one_by_one(platform: Platform, app_client: TestClient,
                                                   database_url: str) -> None:
    """`evaluate_course` (evidence preloaded) and `evaluate_session` give the same verdicts."""
    from proctor.domain.policy import load_policy
    from proctor.services.evaluation import evaluate_course, evaluate_session
    from proctor.storage.tables import StudySession

    clock = _course_of_four(platform, app_client)
    policy = load_policy("henan-2021")
    factory = session_factory(engine_for(database_url))

    def judge(together: bool) -> list[dict[str, Any]]:
        session = factory()
        try:
            from proctor.storage.db import UnitOfWork

            uow = UnitOfWork(session)
            first = session.scalars(select(StudySession)).first()
            assert first is not None
            if together:
                done = evaluate_course(uow, learner_id=first.learner_id,
                                       course_id=first.course_id, policy=policy, now=clock.now)
            else:
                ids = session.scalars(select(StudySession.id)
                                      .order_by(StudySession.started_at, StudySession.id))
                done = [evaluate_session(uow, session_id=sid, policy=policy, now=clock.now)
                        for sid in list(ids)]
            return [{"id": d.session_id, "status": d.status, **d.verdict.to_dict()} for d in done]
        finally:
            session.rollback()
            session.close()

    together, one_by_one = judge(True), judge(False)
    assert together == one_by_one
    # L2 stays tainted by its out-of-order sitting, so L3 is out of order too
    assert [v["status"] for v in together] == ["invalid", "valid", "valid", "invalid"]


def _course_of_four(platform: Platform, app_client: TestClient) -> Any:
    clock = install_clock(app_client)
    platform.course(lessons=3, duration_s=DURATION, class_hours=0.25)
    platform.learner()
    platform.enrol()
    for lesson in ("L2", "L1", "L2", "L3"):  # one out of order, then in order
        _sit(platform, app_client, clock, "stu-1", lesson)
    return clock


def _judged_from_scratch(database_url: str, now: Any, *, together: bool,
                         forget_first: bool = False) -> list[dict[str, Any]]:
    """Every verdict deleted, then the course judged (together or one by one) in one
    transaction, rolled back; returns what each judgement said and the rows it stored.
    ``forget_first``: the preloaded reads miss the first session's verdict, as when a worker
    stored it between the read and the insert (the first try then fails on the key)."""
    from sqlalchemy import delete

    from proctor.domain.policy import load_policy
    from proctor.services import evaluation
    from proctor.services.evaluation import evaluate_course, evaluate_session
    from proctor.storage.db import UnitOfWork
    from proctor.storage.tables import StudySession

    policy = load_policy("henan-2021")
    session = session_factory(engine_for(database_url))()
    real = evaluation.CourseReads
    tries: list[int] = []

    class Forgetful(real):  # type: ignore[misc, valid-type]
        def __init__(self, s: Any, **kw: Any) -> None:
            super().__init__(s, **kw)
            tries.append(1)
            if len(tries) == 1:
                self._verdicts.pop(self.session_ids()[0])

    try:
        uow = UnitOfWork(session)
        session.execute(delete(SessionVerdict))
        ids = list(session.scalars(select(StudySession.id)
                                   .order_by(StudySession.started_at, StudySession.id)))
        first = session.get(StudySession, ids[0])
        assert first is not None
        if forget_first:  # someone else's first verdict of the first session
            evaluate_session(uow, session_id=ids[0], policy=policy, now=now)
            evaluation.CourseReads = Forgetful  # type: ignore[misc]
        if together:
            done = evaluate_course(uow, learner_id=first.learner_id, course_id=first.course_id,
                                   policy=policy, now=now)
        else:
            done = [evaluate_session(uow, session_id=sid, policy=policy, now=now) for sid in ids]
        session.flush()
        session.expire_all()
        rows = {r.session_id: r for r in session.scalars(select(SessionVerdict))}
        if forget_first and together:
            assert len(tries) == 2  # the batch insert failed, then row by row
        return [{"id": d.session_id, "status": d.status, "previous": d.previous_status,
                 **d.verdict.to_dict(),
                 "row": (rows[d.session_id].status, rows[d.session_id].engine_status,
                         rows[d.session_id].revision, rows[d.session_id].result,
                         rows[d.session_id].rules, rows[d.session_id].reviewed)} for d in done]
    finally:
        evaluation.CourseReads = real  # type: ignore[misc]
        session.rollback()
        session.close()


def test_first_verdicts_judged_together_match_one_by_one(platform: Platform,
                                                         app_client: TestClient,
                                                         database_url: str) -> None:
    """Sessions never judged before: `evaluate_course` inserts their first verdicts together
    (PostgreSQL), and stores exactly what judging them one by one stores."""
    clock = _course_of_four(platform, app_client)
    together = _judged_from_scratch(database_url, clock.now, together=True)
    one_by_one = _judged_from_scratch(database_url, clock.now, together=False)
    assert together == one_by_one
    assert [v["row"][:3] for v in together] == [("invalid", "invalid", 1), ("valid", "valid", 1),
                                                ("valid", "valid", 1), ("invalid", "invalid", 1)]
    assert {v["previous"] for v in together} == {None}


def test_first_verdict_stored_meanwhile_falls_back_to_row_by_row(platform: Platform,
                                                                 app_client: TestClient,
                                                                 database_url: str) -> None:
    """A first verdict stored by someone else between the read and the batch insert: the
    batch is undone and judged again row by row, with the same result as one by one."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the batch insert is PostgreSQL's; elsewhere first verdicts are upserted")
    clock = _course_of_four(platform, app_client)
    raced = _judged_from_scratch(database_url, clock.now, together=True, forget_first=True)
    one_by_one = _judged_from_scratch(database_url, clock.now, together=False, forget_first=True)
    assert raced == one_by_one
    assert raced[0]["row"][2] == 2  # the other's first verdict, then this judgement


def test_a_lesson_standing_follows_a_verdict_written_through_the_course_reads(
        platform: Platform, app_client: TestClient, database_url: str) -> None:
    """CourseReads remembers each lesson's standing until a verdict of its sittings is written
    through them (``stored``): asked again after such a write, the standing is the new one."""
    from proctor.domain.policy import load_policy
    from proctor.services.evaluation import evaluate_course, lesson_results
    from proctor.services.evidence_reads import CourseReads
    from proctor.storage.db import UnitOfWork
    from proctor.storage.tables import Lesson, StudySession

    clock = _course_of_four(platform, app_client)
    policy = load_policy("henan-2021")
    session = session_factory(engine_for(database_url))()
    try:
        first = session.scalars(select(StudySession)).first()
        assert first is not None
        learner_id, course_id = first.learner_id, first.course_id
        evaluate_course(UnitOfWork(session), learner_id=learner_id, course_id=course_id,
                        policy=policy, now=clock.now)
        reads = CourseReads(session, learner_id=learner_id, course_id=course_id)
        course = reads.course(course_id)
        assert course is not None

        def standing() -> dict[str, str]:
            return {k: v.status for k, v in lesson_results(
                session, learner_id=learner_id, course=course, lessons=reads.lessons(course_id),
                policy=policy, reads=reads).items()}

        before = standing()
        assert before["L1"] == "valid"
        lesson1 = session.scalars(select(Lesson).where(Lesson.ext_id == "L1")).one()
        (sitting,) = reads.sittings(learner_id, course_id)[lesson1.id]
        row = reads.verdict(sitting.id)
        assert row is not None
        row.status = row.engine_status = "invalid"  # as a new judgement would write it
        row.revision += 1
        reads.stored(row)
        assert standing()["L1"] != "valid"
    finally:
        session.rollback()
        session.close()
