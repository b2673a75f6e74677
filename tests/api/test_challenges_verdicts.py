"""CONTRACT §3-§4 end to end: challenges the service draws, the answers, the stored verdicts.

Signed requests through the app on SQLite and PostgreSQL, in simulated time (the app's clock
is a fake the test moves). Photo and liveness outcomes come from the face pipeline STAND-IN
(`proctor.simulation.face_standin`, via `tests.api.sitting.stand_in_faces`) until the vision
endpoints are wired.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import StudySession
from proctor.workers.tasks import evaluate_idle_sessions
from tests.api.sitting import FakeClock, Sitting, install_clock, stand_in_faces
from tests.factories import Platform

DURATION = 600.0  # short lessons keep the suite fast; the rules scale with the policy, not this


@pytest.fixture
def clock(app_client: TestClient) -> FakeClock:
    return install_clock(app_client)


def _setup(platform: Platform, lessons: int = 2, duration: float = DURATION,
           class_hours: float = 0.25, course_id: str = "elec-101") -> None:
    platform.course(course_id, lessons=lessons, duration_s=duration, class_hours=class_hours)
    platform.learner()
    platform.enrol(course_id=course_id)


def _honest(platform: Platform, client: TestClient, clock: FakeClock, lesson_id: str = "L1",
            course_id: str = "elec-101", duration: float = DURATION) -> Sitting:
    s = Sitting.open(platform, client, clock, lesson_id=lesson_id, course_id=course_id)
    s.start()
    s.finish(duration)
    return s


def _rules(verdict: dict[str, Any]) -> set[str]:
    return {v["rule"] for v in verdict["violations"]}


def _plan(settings_url: str, session_id: str) -> list[tuple[int, str, float]]:
    with unit_of_work(session_factory(engine_for(settings_url))) as uow:
        study = uow.session.get(StudySession, session_id)
        assert study is not None and study.challenge_plan is not None
        return [(int(i), str(k), float(at)) for i, k, at in study.challenge_plan["moments"]]


# --- challenges ---------------------------------------------------------------------------

def test_session_opens_with_a_liveness_challenge_fetched_idempotently(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    first = s.fetch()
    assert first is not None
    assert first["kind"] == "liveness" and first["action"] in (
        "blink", "turn_left", "turn_right", "open_mouth")
    assert first["answer_url"] == f"/v1/challenges/{first['challenge_id']}/photo"
    assert first["frames"] and datetime.fromisoformat(first["issued_at"]) == clock.now
    assert datetime.fromisoformat(first["expires_at"]) - clock.now == timedelta(seconds=60)
    clock.advance(20)
    again = s.fetch()
    assert again == first  # the same challenge until answered or expired
    # a liveness check is answered with frames, not a code
    r = platform.api.post(f"/v1/challenges/{first['challenge_id']}/answer",
                          {"answer": "1234", "answered_at": clock.now.isoformat()})
    assert r.status_code == 409 and r.json()["error"]["field"] == "challenge_id"
    assert stand_in_faces(app_client, first["challenge_id"], [("match", 0.3)], clock.now) == "passed"
    assert s.fetch() is None  # nothing due before any playback: 204


def test_unanswered_liveness_expires_and_is_issued_again(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    first = s.fetch()
    assert first is not None
    clock.advance(61)
    retry = s.fetch()
    assert retry is not None and retry["kind"] == "liveness"
    assert retry["challenge_id"] != first["challenge_id"]


def _first_confirm(s: Sitting) -> dict[str, Any]:
    s.start()
    for _ in range(40):
        s.clock.advance(10)
        s.tick(answer=("liveness", "photo"))
        if s.challenges and s.challenges[-1]["kind"] == "confirm":
            return s.challenges[-1]
    raise AssertionError("no confirm challenge within 400 s of playback")


def _answer(platform: Platform, challenge: dict[str, Any], code: str, at: datetime) -> Any:
    return platform.api.post(f"/v1/challenges/{challenge['challenge_id']}/answer",
                             {"answer": code, "answered_at": at.isoformat()})


def _code(challenge: dict[str, Any]) -> str:
    import re

    found = re.search(r"\d{4}", challenge["prompt"])
    assert found is not None
    # one language, and the code as its own field
    assert challenge["code"] == found.group() and not re.search(r"[A-Za-z]", challenge["prompt"])
    return found.group()


@pytest.mark.parametrize(("code", "wait_s", "outcome"), [
    ("right", 5, "passed"), ("wrong", 5, "failed"), ("right", 61, "expired")])
def test_confirm_answers(platform: Platform, app_client: TestClient, clock: FakeClock, code: str,
                         wait_s: float, outcome: str) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    c = _first_confirm(s)
    clock.advance(wait_s)
    given = _code(c) if code == "right" else f"{(int(_code(c)) + 1) % 10_000:04d}"
    r = _answer(platform, c, given, clock.now)
    assert r.status_code == 200, r.text
    assert r.json() == {"challenge_id": c["challenge_id"], "outcome": outcome}
    again = _answer(platform, c, _code(c), clock.now)  # a second answer is refused
    assert again.status_code == 409


def test_confirm_left_unanswered_is_expired_and_a_late_answer_does_not_pass(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    c = _first_confirm(s)
    clock.advance(70)
    s.fetch()  # the service notices the expiry on its own
    late = _answer(platform, c, _code(c), clock.now - timedelta(seconds=65))
    assert late.status_code == 409 and "expired" in late.json()["error"]["message"]


def test_an_answer_is_judged_by_receive_time_not_the_client_clock(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    """The client's answered_at an hour ahead is evidence only (issue 10: honest clocks)."""
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    c = _first_confirm(s)
    r = _answer(platform, c, _code(c), clock.now + timedelta(hours=1))
    assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text


def test_photo_challenge_comes_at_its_drawn_moment(platform: Platform, app_client: TestClient,
                                                   clock: FakeClock, settings: Any) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    photo_at = next(at for _, kind, at in _plan(settings.database_url, s.session_id)
                    if kind == "photo")
    s.start()
    played = 0.0
    seen_at = None
    while played < DURATION - 10 and seen_at is None:
        clock.advance(10)
        played += 10
        s.tick()
        if any(c["kind"] == "photo" for c in s.challenges):
            seen_at = played
    assert seen_at is not None, f"no photo challenge (drawn at {photo_at:.0f} s of playback)"
    # never before the drawn moment; soon after it (a confirm due at the same time goes first)
    assert photo_at <= seen_at <= photo_at + 20


# --- verdicts -------------------------------------------------------------------------------

def test_honest_session_goes_from_pending_to_valid(platform: Platform, app_client: TestClient,
                                                   clock: FakeClock) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    assert s.verdict()["status"] == "pending"
    assert s.verdict()["pending_reasons"] == ["not evaluated yet"]
    s.start()
    s.play(120)
    assert s.verdict()["status"] == "pending"  # nothing is judged before the session ends
    s.finish(DURATION)
    v = s.verdict()
    assert v["status"] == "valid", v
    assert v["violations"] == [] and v["policy_id"] == "henan-2021" and v["policy_version"] == "1"
    assert DURATION - 15 <= v["credited_seconds"] <= DURATION
    kinds = [c["kind"] for c in s.challenges]
    assert kinds[0] == "liveness" and "photo" in kinds and "confirm" in kinds


def _seek_forward(s: Sitting) -> None:
    s.play(60)
    s.event("seek", **{"from": s.pos, "to": s.pos + 300})
    s.pos += 300


def _hidden_tab(s: Sitting) -> None:
    s.play(60)
    s.event("visibility", state="hidden")
    s.play(60, visible=False)
    s.event("visibility", state="visible")


def _ignore_popups(s: Sitting) -> None:
    s.play(DURATION - s.pos - 10, answer=("liveness", "photo"))


def _replayed_photo(s: Sitting) -> None:
    s.play(DURATION - s.pos - 10, photo_frames=(("spoof", 0.4),))


CHEATS = [
    ("FAST_FORWARD", _seek_forward, "furthest"),
    ("MULTI_WINDOW", _hidden_tab, "seq"),
    ("POPUP_GAP", _ignore_popups, "playback_from_s"),
    ("FACE_LIVENESS", _replayed_photo, "photo"),
]


@pytest.mark.parametrize(("rule", "cheat", "evidence_key"), CHEATS, ids=[c[0] for c in CHEATS])
def test_each_cheat_makes_the_session_invalid_with_evidence(
        platform: Platform, app_client: TestClient, clock: FakeClock, rule: str, cheat: Any,
        evidence_key: str) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    s.start()
    cheat(s)
    s.finish(DURATION)
    v = s.verdict()
    assert v["status"] == "invalid" and rule in _rules(v), v
    assert v["credited_seconds"] == 0
    mine = [x for x in v["violations"] if x["rule"] == rule]
    assert all(x["detail"] and x["at"] <= x["until"] for x in mine)
    assert any(evidence_key in str(e) for x in mine for e in x["evidence"]), mine


def test_a_class_hour_without_a_kept_photo_is_random_photo(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform, lessons=1, duration=2700, class_hours=1.0)  # a full class hour is 2400 s
    s = Sitting.open(platform, app_client, clock)
    s.start()
    s.play(2690, answer=("liveness", "confirm"))  # every photo challenge ignored
    s.finish(2700)
    v = s.verdict()
    assert v["status"] == "invalid" and "RANDOM_PHOTO" in _rules(v), v


def test_a_session_uploaded_at_the_end_is_late_telemetry(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    s.start()
    for _ in range(int(DURATION // 10)):  # the player records, and sends nothing meanwhile
        clock.advance(10)
        s.pos += 10
        s.event("heartbeat", post=False, position=s.pos, rate=1.0, visible=True, focused=True)
    s.event("lesson.complete", post=False, position=DURATION)
    s.event("session.end", post=False)
    clock.advance(5)
    s.post(s.held_back)
    v = s.verdict()
    assert v["status"] == "invalid" and "LATE_TELEMETRY" in _rules(v), v


def test_lesson_order_across_lessons(platform: Platform, app_client: TestClient,
                                     clock: FakeClock) -> None:
    _setup(platform, lessons=3)
    skipped = _honest(platform, app_client, clock, lesson_id="L2")  # L1 never done
    v = skipped.verdict()
    assert v["status"] == "invalid" and _rules(v) == {"LESSON_ORDER"}, v
    clock.advance(600)
    first = _honest(platform, app_client, clock, lesson_id="L1")
    assert first.verdict()["status"] == "valid"
    clock.advance(600)
    # L2 again, now in order; the earlier out-of-order sitting still taints L2
    second = _honest(platform, app_client, clock, lesson_id="L2")
    assert second.verdict()["status"] == "valid"
    st = platform.api.get("/v1/enrolments/stu-1/elec-101").json()
    assert [x["status"] for x in st["lessons"]] == ["valid", "invalid", "not_studied"]
    assert st["lessons"][1]["reasons"] == ["invalid session: LESSON_ORDER"]


def test_next_lesson_right_after_with_a_fast_client_clock_is_in_order(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    """A client clock 8 minutes fast must not move the end of lesson 1 past the start of
    lesson 2: the service keeps its own time of `session.end`."""
    _setup(platform, lessons=2)
    for lesson in ("L1", "L2"):
        s = Sitting.open(platform, app_client, clock, lesson_id=lesson, skew_s=480)
        s.start()
        s.finish(DURATION)
        assert s.verdict()["status"] == "valid", s.verdict()
        clock.advance(30)  # the next lesson half a minute later
    st = platform.api.get("/v1/enrolments/stu-1/elec-101").json()
    assert [x["status"] for x in st["lessons"]] == ["valid", "valid"]


def test_two_sessions_playing_at_once_are_both_multi_window(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    platform.course("elec-101", lessons=1, duration_s=DURATION, class_hours=0.25)
    platform.course("safety-1", lessons=1, duration_s=DURATION, class_hours=0.25)
    platform.learner()
    platform.enrol(course_id="elec-101")
    platform.enrol(course_id="safety-1")
    a = Sitting.open(platform, app_client, clock, course_id="elec-101")
    b = Sitting.open(platform, app_client, clock, course_id="safety-1")
    a.start()
    b.start()
    for _ in range(int(DURATION // 10) - 1):  # two tabs, one learner, the same minutes
        clock.advance(10)
        a.tick()
        b.tick()
    a.finish(DURATION)
    b.finish(DURATION)
    for me, other in ((a, b), (b, a)):
        v = me.verdict()
        assert v["status"] == "invalid" and "MULTI_WINDOW" in _rules(v), v
        partner = [e for x in v["violations"] for e in x["evidence"] if "other_session" in e]
        assert partner and partner[0]["other_session"] == other.session_id


def test_an_overlap_seen_later_re_judges_the_session_judged_first(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    """The second tab's events arrive only after the first session was judged valid (its
    platform uploads in one go): when the second is judged, the first is judged again."""
    platform.course("elec-101", lessons=1, duration_s=DURATION, class_hours=0.25)
    platform.learner()
    platform.enrol()
    a = Sitting.open(platform, app_client, clock)
    b = Sitting.open(platform, app_client, clock)
    a.start()
    b.event("play", post=False, position=0.0)
    for _ in range(int(DURATION // 10) - 1):
        clock.advance(10)
        a.tick()
        b.pos += 10
        b.event("heartbeat", post=False, position=b.pos, rate=1.0, visible=True, focused=True)
    a.finish(DURATION)
    assert a.verdict()["status"] == "valid"
    b.event("session.end", post=False)
    b.post(b.held_back)
    assert "MULTI_WINDOW" in _rules(b.verdict())
    va = a.verdict()
    assert va["status"] == "invalid" and "MULTI_WINDOW" in _rules(va), va


def test_enrolment_status_lessons_hours_and_eligibility(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform, lessons=2)
    url = "/v1/enrolments/stu-1/elec-101"
    st = platform.api.get(url).json()
    assert [x["status"] for x in st["lessons"]] == ["not_studied", "not_studied"]
    assert st["credited_class_hours"] == 0 and st["required_class_hours"] == 0.5
    assert st["exam_eligible"] is False
    _honest(platform, app_client, clock, lesson_id="L1")
    st = platform.api.get(url).json()
    assert [x["status"] for x in st["lessons"]] == ["valid", "not_studied"]
    assert st["lessons"][0]["credited_class_hours"] == 0.25 and st["lessons"][0]["photos_kept"] == 1
    assert st["credited_class_hours"] == 0.25
    codes = {r["code"] for r in st["reasons"]}
    assert {"LESSON_NOT_STUDIED", "CLASS_HOURS_SHORT"} <= codes
    clock.advance(600)
    _honest(platform, app_client, clock, lesson_id="L2")
    r = platform.api.put("/v1/enrolments/stu-1/elec-101", {
        "class_batch": "2026-11-A", "start_date": "2026-11-01", "practical_hours": 8})
    assert r.status_code == 200, r.text
    st = platform.api.get(url).json()
    assert [x["status"] for x in st["lessons"]] == ["valid", "valid"]
    assert st["credited_class_hours"] == 0.5
    assert st["exam_eligible"] is True and st["reasons"] == [], st["reasons"]
    assert st["policy_version"] == "henan-2021@1"


# --- events in flight ----------------------------------------------------------------------

def test_verdict_waits_for_events_in_flight_and_a_late_batch_completes_it(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    s.start()
    s.play(200, lose=(3, 4))  # a batch still on the network
    s.finish(DURATION)
    v = s.verdict()
    assert v["status"] == "pending", v
    assert any("in flight" in r for r in v["pending_reasons"])
    clock.advance(20)
    s.post(s.held_back)  # it arrives: every seq up to session.end is in, judged at once
    v = s.verdict()
    assert v["status"] == "valid", v


def test_verdict_is_final_once_the_wait_is_over(platform: Platform, app_client: TestClient,
                                                clock: FakeClock) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    s.start()
    s.play(200, lose=(7,))  # lost for good (honest noise)
    s.finish(DURATION)
    assert s.verdict()["status"] == "pending"
    clock.advance(60)
    assert evaluate_idle_sessions(clock.now.isoformat()) == 0  # still waiting
    assert s.verdict()["status"] == "pending"
    clock.advance(61)  # late_telemetry_s after the last arrival
    assert evaluate_idle_sessions(clock.now.isoformat()) == 1
    v = s.verdict()
    assert v["status"] == "valid" and v["pending_reasons"] == [], v


# --- tenancy --------------------------------------------------------------------------------

def test_another_institution_sees_nothing(platform: Platform, other_platform: Platform,
                                          app_client: TestClient, clock: FakeClock) -> None:
    _setup(platform)
    s = Sitting.open(platform, app_client, clock)
    c = s.fetch()
    assert c is not None
    other = other_platform.api
    assert other.get(f"/v1/sessions/{s.session_id}/challenge").status_code == 404
    assert other.get(f"/v1/sessions/{s.session_id}/verdict").status_code == 404
    r = other.post(f"/v1/challenges/{c['challenge_id']}/answer",
                   {"answer": "0000", "answered_at": clock.now.isoformat()})
    assert r.status_code == 404
    assert other.get("/v1/enrolments/stu-1/elec-101").status_code == 404
    # and the owner still can
    assert platform.api.get(f"/v1/sessions/{s.session_id}/verdict").status_code == 200
