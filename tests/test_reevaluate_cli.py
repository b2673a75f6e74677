"""`proctor reevaluate`: stored sessions judged again under another policy version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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

    clock = install_clock(app_client)
    platform.course(lessons=3, duration_s=DURATION, class_hours=0.25)
    platform.learner()
    platform.enrol()
    for lesson in ("L2", "L1", "L2", "L3"):  # one out of order, then in order
        _sit(platform, app_client, clock, "stu-1", lesson)
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
