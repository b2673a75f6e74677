"""Lesson status from session verdicts, and course class hours."""

from __future__ import annotations

import dataclasses

from proctor.domain.coverage import union
from proctor.domain.engine import aggregate_lesson, course_credit, evaluate, prior_lessons
from proctor.domain.model import Challenge, Course, Lesson, PhotoOutcome, SessionRecord, Verdict
from proctor.domain.policy import Policy
from tests.domain.script import LESSON, T0, Script, watch


def _record(sid: str, verdict: Verdict, start: float) -> SessionRecord:
    return SessionRecord(sid, start, start + 100, verdict)


def test_whole_lesson_in_one_sitting_is_valid(policy: Policy) -> None:
    v = evaluate(watch(LESSON.duration_s).complete().end().session(), policy)
    assert v.status == "valid"
    assert v.completed
    assert v.photos_kept == 1
    result = aggregate_lesson(LESSON, [_record("a", v, T0)], policy)
    assert result.status == "valid"
    assert result.credited_class_hours == LESSON.class_hours
    assert abs(result.credited_seconds - LESSON.duration_s) < 1


def test_two_sittings_add_up(policy: Policy) -> None:
    half = LESSON.duration_s / 2
    first = evaluate(watch(half).pause().end().session(), policy)
    s2 = Script(pos=half).play().wait(half).complete().end()
    second_input = dataclasses.replace(s2.session(), prior_covered=first.covered)
    second = evaluate(second_input, policy)
    assert first.status == second.status == "valid", second.violations
    records = [_record("a", first, T0), _record("b", second, T0 + 5000)]
    result = aggregate_lesson(LESSON, records, policy)
    assert result.status == "valid", result.reasons
    assert result.completed_at == T0 + 5100


def test_half_a_lesson_is_incomplete(policy: Policy) -> None:
    v = evaluate(watch(600).pause().end().session(), policy)
    result = aggregate_lesson(LESSON, [_record("a", v, T0)], policy)
    assert result.status == "incomplete"
    assert result.credited_class_hours == 0
    assert result.credited_seconds > 500


def test_an_invalid_sitting_taints_the_lesson(policy: Policy) -> None:
    good = evaluate(watch(LESSON.duration_s).complete().end().session(), policy)
    bad = evaluate(watch(300).hide().wait(120).show().pause().end().session(), policy)
    result = aggregate_lesson(LESSON, [_record("a", good, T0), _record("b", bad, T0 + 9000)],
                              policy)
    assert result.status == "invalid"
    assert result.reasons == ("invalid session: MULTI_WINDOW",)


def test_course_hours_and_priors(policy: Policy) -> None:
    other = Lesson("L1", 1, 2500.0, 1.0)
    course = Course("C", (other, LESSON), 2.0)
    v = evaluate(watch(LESSON.duration_s).complete().end().session(), policy)
    results = {LESSON.id: aggregate_lesson(LESSON, [_record("a", v, T0)], policy)}
    credit = course_credit(course, results)
    assert credit.credited_class_hours == 1.0
    assert not credit.complete
    assert credit.lessons[0].status == "incomplete"
    priors = prior_lessons(list(results.values()))
    assert priors[LESSON.id].status == "valid"


def test_three_honest_sittings_of_a_short_lesson_are_valid(policy: Policy) -> None:
    """One 600 s lesson in three sittings of 200 s, each judged with the coverage of the
    earlier ones that stand valid (services.evaluation): the second sitting stops seconds after
    its plan's photo popped up (left unanswered, it expires), the third keeps the photo and
    completes the lesson. An honest learner: every sitting and the lesson come out valid."""
    short = Lesson("L2", 2, 600.0, 0.25)
    first = Script(pos=0.0).play().wait(200).pause().end()
    second = Script(pos=200.0).play().wait(195)
    left_behind = Challenge("ph2", "photo", second.t, second.t + 60, None, "expired", 195.0, 1)
    second.wait(5).pause().wait(70).end()
    third = Script(pos=400.0).play().wait(100)
    at = third.t
    kept = Challenge("ph3", "photo", at, at + 60, at + 3, "passed", 100.0, 1)
    third.wait(100).complete().end()
    sittings = [(first, ()), (second, (left_behind,)), (third, (kept,))]
    verdicts: list[Verdict] = []
    for script, photos in sittings:
        prior = union([iv for v in verdicts if v.status == "valid" for iv in v.covered],
                      join=policy.coverage_join_s, lo=0.0, hi=short.duration_s)
        inp = script.session(lesson=short, photo=False, challenges=photos, photos=tuple(
            PhotoOutcome(f"{c.id}-p", c.id, c.answered_at or 0.0, "match", 0.4) for c in photos
            if c.outcome == "passed"))
        verdicts.append(evaluate(dataclasses.replace(inp, prior_covered=tuple(prior)), policy))
    assert [v.status for v in verdicts] == ["valid"] * 3, [
        [x.detail for x in v.violations] for v in verdicts]
    records = [_record(f"s{i}", v, T0 + i * 5000) for i, v in enumerate(verdicts)]
    result = aggregate_lesson(short, records, policy)
    assert result.status == "valid", result.reasons
    assert result.credited_class_hours == 0.25
