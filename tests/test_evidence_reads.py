"""services.evidence_reads.begun_before: a lesson's sittings begun before a time, as a lesson's
standing and the resume point ask for them (strictly before: a sitting begun at that very
moment is the one being judged, or its twin, never an earlier one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from proctor.services.evidence_reads import begun_before, count_begun_before, sittings_by_lesson
from proctor.storage.tables import StudySession

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _sitting(sid: str, lesson: int, minutes: int) -> StudySession:
    return StudySession(id=sid, lesson_id=lesson, started_at=T0 + timedelta(minutes=minutes))


def test_sittings_are_grouped_per_lesson_oldest_first_and_cut_strictly_before() -> None:
    sessions = [_sitting("a", 1, 0), _sitting("b", 2, 10), _sitting("c", 1, 20),
                _sitting("d", 1, 30), _sitting("e", 2, 40)]
    by_lesson = sittings_by_lesson(sessions)
    assert [x.id for x in by_lesson[1]] == ["a", "c", "d"]
    assert [x.id for x in by_lesson[2]] == ["b", "e"]
    lesson1 = by_lesson[1]
    assert [x.id for x in begun_before(lesson1, None)] == ["a", "c", "d"]
    assert [x.id for x in begun_before(lesson1, T0 + timedelta(minutes=20))] == ["a"]
    assert [x.id for x in begun_before(lesson1, T0 + timedelta(minutes=21))] == ["a", "c"]
    assert begun_before(lesson1, T0) == []
    assert [x.id for x in begun_before(lesson1, T0 + timedelta(days=1))] == ["a", "c", "d"]
    starts = [x.started_at for x in lesson1]  # the same cut from the start times alone
    for at in (None, T0, T0 + timedelta(minutes=20), T0 + timedelta(minutes=21),
               T0 + timedelta(days=1)):
        assert count_begun_before(starts, at) == len(begun_before(lesson1, at))
