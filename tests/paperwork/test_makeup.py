"""Make-up study (补学): a failed lesson, a recorded leave, the lesson studied again, eligible.

Signed requests through the app in simulated time, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from proctor.domain.makeup import superseded_sittings
from proctor.domain.model import SessionRecord, Verdict
from tests.api.sitting import FakeClock, Sitting
from tests.factories import Platform

DURATION = 600.0
URL = "/v1/enrolments/stu-1/elec-101"


def _setup(platform: Platform) -> None:
    platform.course(lessons=1, duration_s=DURATION, class_hours=0.25)
    platform.learner()
    r = platform.api.put("/v1/enrolments/stu-1/elec-101", {
        "class_batch": "2026-11-A", "start_date": "2026-11-01", "practical_hours": 8})
    assert r.status_code == 200, r.text


def _cheat(platform: Platform, client: TestClient, clock: FakeClock) -> Sitting:
    s = Sitting.open(platform, client, clock)
    s.start()
    s.play(60)
    s.event("seek", **{"from": s.pos, "to": s.pos + 300})
    s.pos += 300
    s.finish(DURATION)
    return s


def _honest(platform: Platform, client: TestClient, clock: FakeClock) -> Sitting:
    s = Sitting.open(platform, client, clock)
    s.start()
    s.finish(DURATION)
    return s


def test_failed_lesson_with_a_leave_is_studied_again_and_the_learner_becomes_eligible(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform)
    failed = _cheat(platform, app_client, clock)
    assert failed.verdict()["status"] == "invalid"
    st = platform.api.get(URL).json()
    assert st["lessons"][0]["status"] == "invalid" and st["exam_eligible"] is False
    assert "LESSON_INVALID" in {r["code"] for r in st["reasons"]}

    # A leave is refused without its reason, and for a lesson the course does not have.
    bad = platform.api.post("/v1/leaves", {"learner_id": "stu-1", "course_id": "elec-101",
                                           "lesson_id": "L1", "reason": "   "})
    assert bad.status_code == 422 and "reason" in bad.text, bad.text
    bad = platform.api.post("/v1/leaves", {"learner_id": "stu-1", "course_id": "elec-101",
                                           "lesson_id": "L9", "reason": "病假"})
    assert bad.status_code == 404 and "L9" in bad.text, bad.text

    clock.advance(600)
    r = platform.api.post("/v1/leaves", {"learner_id": "stu-1", "course_id": "elec-101",
                                         "lesson_id": "L1", "reason": "病假，附医院证明"})
    assert r.status_code == 201, r.text
    assert r.json()["reason"] == "病假，附医院证明"
    st = platform.api.get(URL).json()
    lesson = st["lessons"][0]
    # the failed sitting no longer taints the lesson; the make-up is still to come
    assert lesson["superseded_sessions"] == [failed.session_id]
    assert lesson["status"] == "incomplete" and st["exam_eligible"] is False
    assert "LESSON_INVALID" not in {r["code"] for r in st["reasons"]}

    clock.advance(600)
    makeup = _honest(platform, app_client, clock)
    assert makeup.verdict()["status"] == "valid"
    st = platform.api.get(URL).json()
    lesson = st["lessons"][0]
    assert lesson["status"] == "valid", lesson
    assert st["exam_eligible"] is True and st["reasons"] == [], st
    assert st["credited_class_hours"] == 0.25
    # The record shows both: the invalid sitting stays as evidence beside the make-up.
    assert failed.session_id in lesson["superseded_sessions"]
    assert [x["reason"] for x in lesson["leaves"]] == ["病假，附医院证明"]
    assert failed.verdict()["status"] == "invalid"
    assert failed.verdict()["violations"]


def _rec(sid: str, start: float, status: str) -> SessionRecord:
    v = Verdict(status, 0.0, (), (), "henan-2021", "1")
    return SessionRecord(session_id=sid, started_at=start, ended_at=start + 10, verdict=v)


def test_makeup_modes() -> None:
    records = [_rec("a", 100, "invalid"), _rec("b", 200, "valid"), _rec("c", 300, "invalid")]
    assert superseded_sittings(records, "never", [250.0]) == frozenset()
    assert superseded_sittings(records, "after_leave", []) == frozenset()
    assert superseded_sittings(records, "after_leave", [250.0]) == {"a"}
    assert superseded_sittings(records, "after_leave", [50.0, 400.0]) == {"a", "c"}
    assert superseded_sittings(records, "always", []) == {"a"}  # c has no later sitting yet
    assert superseded_sittings([*records, replace(records[1], session_id="d", started_at=500)],
                               "always", []) == {"a", "c"}
    with pytest.raises(ValueError, match="unknown makeup"):
        superseded_sittings(records, "sometimes", [])


def test_without_a_leave_studying_again_does_not_lift_the_taint(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform)
    failed = _cheat(platform, app_client, clock)
    clock.advance(600)
    again = _honest(platform, app_client, clock)
    assert again.verdict()["status"] == "valid"
    st = platform.api.get(URL).json()
    assert st["lessons"][0]["status"] == "invalid" and st["exam_eligible"] is False
    assert st["lessons"][0]["superseded_sessions"] == [] and failed.session_id
