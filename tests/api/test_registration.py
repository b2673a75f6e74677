"""CONTRACT §2: courses with ordered lessons, real-name learners, enrolments."""

from __future__ import annotations

from tests.factories import Platform, resident_id


def test_course_round_trip_in_lesson_order(platform: Platform) -> None:
    body = {"title": "社会工作者", "occupation": "社会工作者", "required_class_hours": 3,
            "lessons": [{"id": "b", "seq": 2, "duration_s": 2400, "class_hours": 1},
                        {"id": "a", "seq": 1, "duration_s": 2400, "class_hours": 1},
                        {"id": "c", "seq": 3, "duration_s": 1800.5, "class_hours": 1}]}
    assert platform.api.put("/v1/courses/yy-1", body).status_code == 200
    got = platform.api.get("/v1/courses/yy-1").json()
    assert [x["id"] for x in got["lessons"]] == ["a", "b", "c"]
    assert got["lessons"][2]["duration_s"] == 1800.5


def test_lessons_can_be_reordered(platform: Platform) -> None:
    platform.course(lessons=3)
    course = platform.api.get("/v1/courses/elec-101").json()
    lessons = course["lessons"]
    lessons[0]["seq"], lessons[2]["seq"] = 3, 1
    body = {k: course[k] for k in ("title", "occupation", "required_class_hours",
                                   "offline_practical_hours")}
    r = platform.api.put("/v1/courses/elec-101", {**body, "lessons": lessons})
    assert r.status_code == 200, r.text
    assert [x["id"] for x in r.json()["lessons"]] == ["L3", "L2", "L1"]


def test_lesson_with_sessions_cannot_be_removed(platform: Platform) -> None:
    platform.ready_session()  # a session on L1
    course = platform.api.get("/v1/courses/elec-101").json()
    body = {k: course[k] for k in ("title", "occupation", "required_class_hours",
                                   "offline_practical_hours")}
    r = platform.api.put("/v1/courses/elec-101", {**body, "lessons": course["lessons"][1:]})
    assert r.status_code == 409
    assert "L1" in r.json()["error"]["message"]
    assert len(platform.api.get("/v1/courses/elec-101").json()["lessons"]) == 3


def test_duplicate_lesson_seq_is_refused(platform: Platform) -> None:
    r = platform.api.put("/v1/courses/x", {
        "title": "t", "occupation": "o", "required_class_hours": 2,
        "lessons": [{"id": "a", "seq": 1, "duration_s": 10, "class_hours": 1},
                    {"id": "b", "seq": 1, "duration_s": 10, "class_hours": 1}]})
    assert r.status_code == 422
    assert "seq" in r.json()["error"]["message"]


def test_course_field_errors_name_the_field(platform: Platform) -> None:
    r = platform.api.put("/v1/courses/x", {"title": "t", "occupation": "o",
                                           "required_class_hours": "many", "lessons": []})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "required_class_hours"


def test_bad_path_id_is_refused(platform: Platform) -> None:
    r = platform.api.get("/v1/courses/has%20space")
    assert r.status_code == 422


def test_learner_id_number_is_validated_and_masked(platform: Platform) -> None:
    number = resident_id(seq=123)
    r = platform.api.put("/v1/learners/s1", {"real_name": "李娜", "id_number": number,
                                             "phone": "13812345678"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["id_number_masked"] == number[:3] + "*" * 11 + number[-4:]
    assert number not in r.text
    assert out["phone_masked"] == "138****5678"


def test_bad_check_digit_is_refused_and_learner_kept(platform: Platform) -> None:
    good = resident_id(seq=7)
    assert platform.api.put("/v1/learners/s1", {"real_name": "李娜", "id_number": good}).status_code == 200
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    r = platform.api.put("/v1/learners/s1", {"real_name": "王强", "id_number": bad})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["field"] == "id_number" and "check digit" in err["message"]
    assert platform.api.get("/v1/learners/s1").json()["real_name"] == "李娜"


def test_enrolment_needs_registered_learner_and_course(platform: Platform) -> None:
    platform.course()
    r = platform.api.put("/v1/enrolments/ghost/elec-101",
                         {"class_batch": "A", "start_date": "2026-11-01"})
    assert r.status_code == 404 and r.json()["error"]["field"] == "learner_id"
    platform.learner()
    r = platform.api.put("/v1/enrolments/stu-1/elec-101",
                         {"class_batch": "A", "start_date": "2026-13-01"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "start_date"


def test_session_needs_enrolment(platform: Platform) -> None:
    platform.course()
    platform.learner()
    r = platform.api.post("/v1/sessions", {"learner_id": "stu-1", "course_id": "elec-101",
                                           "lesson_id": "L1"})
    assert r.status_code == 422 and "not enrolled" in r.json()["error"]["message"]
    platform.enrol()
    r = platform.api.post("/v1/sessions", {"learner_id": "stu-1", "course_id": "elec-101",
                                           "lesson_id": "L9"})
    assert r.status_code == 404 and r.json()["error"]["field"] == "lesson_id"
    r = platform.api.post("/v1/sessions", {"learner_id": "stu-1", "course_id": "elec-101",
                                           "lesson_id": "L1"})
    assert r.status_code == 201
    out = r.json()
    assert out["status"] == "open" and out["next_challenge_at"] is not None
    assert out["challenge_url"] == f"/v1/sessions/{out['session_id']}/challenge"


def test_callback_url_registration(platform: Platform) -> None:
    r = platform.api.put("/v1/institution", {"callback_url": "https://lms.example.cn/proctor"})
    assert r.status_code == 200
    assert platform.api.get("/v1/institution").json()["callback_url"].endswith("/proctor")
    assert platform.api.put("/v1/institution", {"callback_url": "ftp://x"}).status_code == 422
