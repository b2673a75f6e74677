"""The county's pure rules, each against its honest look-alike, at the policy's thresholds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from proctor.domain.county import signals as sig
from proctor.domain.county.exams import ExamFact, exam_month_problem, new_class_refusal
from proctor.domain.county.facts import EventValue, network_of, telemetry_stats
from proctor.domain.county.person import person_hash
from proctor.domain.county.policy import CountyPolicy, county_policy_from_mapping
from proctor.domain.policy import PolicyError, load_policy

POLICY_FILE = Path(__file__).resolve().parents[2] / "config" / "policies" / "henan-2021.toml"


@pytest.fixture(scope="module")
def p() -> CountyPolicy:
    import tomllib

    return county_policy_from_mapping(tomllib.loads(POLICY_FILE.read_text()))


T0 = datetime(2026, 10, 12, 1, 0, tzinfo=UTC).timestamp()  # 09:00 local


def fact(sid: str, person: str, start: float, end: float, **kw: object) -> sig.SessionFact:
    base = dict(learner_id=hash(person) % 10_000, institution_id=1, course_id=1, class_batch="b",
                lesson_id=1)
    base.update(kw)
    return sig.SessionFact(sid, person=person, start=T0 + start, end=T0 + end, **base)  # type: ignore[arg-type]


def test_the_policy_file_loads_with_its_county_table() -> None:
    load_policy(POLICY_FILE)  # [county] is an extension table, not an unknown one
    import tomllib

    raw = tomllib.loads(POLICY_FILE.read_text())
    raw["county"]["device"]["device_day_max_persons"] = "five"
    with pytest.raises(PolicyError, match="device_day_max_persons"):
        county_policy_from_mapping(raw)
    del raw["county"]["device"]
    with pytest.raises(PolicyError, match="missing key"):
        county_policy_from_mapping(raw)


def test_person_key_is_keyed_and_normalised() -> None:
    a = person_hash("41010519900307123x", b"k1")
    assert a == person_hash(" 41010519900307123X", b"k1") != person_hash("41010519900307123X", b"k2")
    with pytest.raises(ValueError, match="empty"):
        person_hash("41010519900307123X", b"")


def test_two_institutions_at_once_but_not_in_turn(p: CountyPolicy) -> None:
    at_once = [fact("a", "P", 0, 1500, institution_id=1), fact("b", "P", 600, 2100, institution_id=2)]
    in_turn = [fact("a", "P", 0, 1500, institution_id=1), fact("b", "P", 1500, 3000, institution_id=2)]
    same_inst = [fact("a", "P", 0, 1500), fact("b", "P", 600, 2100)]
    assert [f.rule for f in sig.person_two_institutions(at_once, p)] == [sig.PERSON_TWO_INSTITUTIONS]
    assert sig.person_two_institutions(in_turn, p) == []
    assert sig.person_two_institutions(same_inst, p) == []  # the platform's own MULTI_WINDOW


def test_two_classes_unless_the_first_was_examined(p: CountyPolicy) -> None:
    a = sig.EnrolmentFact(1, 1, "P", 1, 1, "b1", date(2026, 8, 1))
    b = sig.EnrolmentFact(2, 2, "P", 2, 7, "b2", date(2026, 10, 1))
    assert [f.rule for f in sig.person_two_classes([a, b], p)] == [sig.PERSON_TWO_CLASSES]
    examined = replace(a, closed_on=date(2026, 8, 20))
    assert sig.person_two_classes([examined, b], p) == []


def test_a_device_in_turn_is_a_family_at_once_a_room(p: CountyPolicy) -> None:
    family = [fact("a", "P", 0, 1500, device_id="pc"), fact("b", "Q", 1600, 3100, device_id="pc")]
    assert sig.device_shared(family, p) == []
    room = [fact(str(i), f"P{i}", 30 * i, 1500, device_id="pc") for i in range(3)]
    assert {f.rule for f in sig.device_shared(room, p)} == {sig.DEVICE_SHARED_AT_ONCE}
    day = [fact(str(i), f"P{i}", 2000 * i, 2000 * i + 1500, device_id="pc")
           for i in range(p.device_day_max_persons)]
    assert {f.rule for f in sig.device_shared(day, p)} == {sig.DEVICE_MANY_PERSONS_DAY}
    # The same person on one device twice is no crowd.
    assert sig.device_shared([fact("a", "P", 0, 1500, device_id="pc"),
                              fact("b", "P", 100, 1600, device_id="pc")], p) == []


def test_a_lab_has_a_machine_per_person_a_room_does_not(p: CountyPolicy) -> None:
    n = p.ip_overlap_min_persons + 4
    lab = [fact(str(i), f"P{i}", 10 * i, 1500, device_id=f"pc{i}", ip24="10.1.1") for i in range(n)]
    assert sig.ip_room(lab, p) == []
    room = [fact(str(i), f"P{i}", 10 * i, 1500, device_id=f"pc{i % 2}", ip24="10.1.1")
            for i in range(n)]
    found = sig.ip_room(room, p)
    assert [f.rule for f in found] == [sig.IP_ROOM] and found[0].evidence["devices"] == 2


def test_jitter_and_identical_sequences(p: CountyPolicy) -> None:
    beats = [EventValue(i, "heartbeat", T0 + 10.0 * i) for i in range(1, 40)]
    exact = telemetry_stats(beats)
    assert exact.heartbeat_jitter_ms == pytest.approx(0.0, abs=1e-3)
    # a browser's timer: a little late each time, and drifting
    human = telemetry_stats([replace(e, t=e.t + 0.013 * e.seq + (0.012 if e.seq % 2 else 0))
                             for e in beats])
    assert human.heartbeat_jitter_ms is not None and human.heartbeat_jitter_ms > 10
    bot = fact("a", "P", 0, 400, heartbeats=39, heartbeat_jitter_ms=exact.heartbeat_jitter_ms)
    person = replace(bot, session_id="b", heartbeat_jitter_ms=human.heartbeat_jitter_ms)
    assert [f.session_ids for f in sig.heartbeat_no_jitter([bot, person], p)] == [("a",)]
    # The digest ignores when a session ran, not what happened in it.
    shifted = telemetry_stats([replace(e, t=e.t + 86400) for e in beats])
    assert shifted.sequence_digest == exact.sequence_digest != human.sequence_digest
    same = [fact("a", "P", 0, 400, sequence_digest="d", events=39),
            fact("b", "Q", 5000, 5400, sequence_digest="d", events=39)]
    assert [f.rule for f in sig.identical_telemetry(same, p)] == [sig.IDENTICAL_TELEMETRY]
    assert sig.identical_telemetry([same[0], replace(same[1], person="P")], p) == []


def test_lockstep_class_and_a_staggered_lab(p: CountyPolicy) -> None:
    n = p.lockstep_min_persons + 1
    step = [fact(str(i), f"P{i}", i, 1500 + i, device_id=f"d{i}") for i in range(n)]
    assert [f.rule for f in sig.class_lockstep(step, p)] == [sig.CLASS_LOCKSTEP]
    staggered = [fact(str(i), f"P{i}", 45 * i, 1500 + 45 * i + 30 * (i % 3)) for i in range(20)]
    assert sig.class_lockstep(staggered, p) == []


def test_through_the_night_and_after_a_night_shift(p: CountyPolicy) -> None:
    midnight = T0 - 9 * 3600  # 00:00 local
    night = [sig.SessionFact(str(k), 1, "P", 1, 1, "b", k, midnight + 1200 + 3700 * k,
                             midnight + 1200 + 3700 * k + 3600) for k in range(5)]
    assert [f.rule for f in sig.night_study(night, p)] == [sig.NIGHT_STUDY]
    shift = [sig.SessionFact("s", 1, "P", 1, 1, "b", 1, midnight + 7200, midnight + 12000)]
    assert sig.night_study(shift, p) == []


def test_one_face_two_ids(p: CountyPolicy) -> None:
    m = sig.FaceMatch(1, "P", 1, 2, "Q", 2, 0.3)
    assert [f.rule for f in sig.face_two_ids([m], p)] == [sig.FACE_TWO_IDS]
    assert sig.face_two_ids([replace(m, person_b="P")], p) == []  # one person, two platforms
    assert sig.face_two_ids([replace(m, distance=p.face_max_distance + 0.1)], p) == []


def test_exam_windows_and_the_one_month_rule() -> None:
    assert exam_month_problem(date(2026, 8, 3), (4, 8, 12)) is None
    assert "4月" in (exam_month_problem(date(2026, 6, 3), (4, 8, 12)) or "")
    exams = [ExamFact(date(2026, 8, 31), "pass")]
    refused = new_class_refusal(exams, class_start_on=date(2026, 9, 29), cooldown_months=1)
    assert refused is not None and "2026-09-30" in refused.message_en  # 31 Aug + 1 month
    assert new_class_refusal(exams, class_start_on=date(2026, 9, 30), cooldown_months=1) is None
    assert new_class_refusal([ExamFact(date(2026, 8, 31), "absent")],
                             class_start_on=date(2026, 9, 2), cooldown_months=1) is None


def test_networks() -> None:
    assert network_of("10.20.30.44") == "10.20.30"
    assert network_of("2001:db8:1:2::5") == "2001:db8:1::"
    assert network_of("not an ip") is None and network_of(None) is None
