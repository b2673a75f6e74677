"""Each rule on hand-built timelines, with the violations expected of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from proctor.domain import engine
from proctor.domain.engine import evaluate
from proctor.domain.model import (
    Challenge,
    Lesson,
    OtherSession,
    PhotoOutcome,
    PriorLesson,
    SessionInput,
)
from proctor.domain.policy import Policy
from proctor.domain.rules import RULES
from tests.domain.script import LESSON, T0, Script, watch


def _honest() -> SessionInput:
    return watch(1200).pause().end().session()


def _complete_lesson() -> SessionInput:
    return watch(LESSON.duration_s).complete().end().session()


def _honest_with_noise() -> SessionInput:
    s = Script(skew=-3600.0, delay=2.0).play().wait(300)
    s.wait(20, stall=True).wait(100)  # buffering: the play head stands still while playing
    s.seek(s.pos - 40).wait(20)  # a small seek back
    s.seek(s.pos + 20).wait(100)  # ... and forward again, to the furthest point
    s.blur().wait(10).focus().wait(100)  # a notification
    s.hide().wait(8).show().wait(100)  # a quick look at another tab
    s.pause().hide().wait(900).show().play().wait(300)  # away while paused: no penalty
    return s.end().session()


def _lost_heartbeats() -> SessionInput:
    s = Script().play().wait(200)
    s.wait(40, heartbeat=40).wait(300)  # three heartbeats lost in a row
    return s.pause().end().session()


def _slow_rate() -> SessionInput:
    return Script().play().set_rate(0.75).wait(900).pause().end().session()


def _rate_125() -> SessionInput:
    return Script().play().set_rate(1.25).wait(300).pause().end().session()


def _rate_misclick() -> SessionInput:
    s = Script().play().wait(100).set_rate(1.25)
    s.t += 0.5
    return s.set_rate(1.0).wait(200).pause().end().session()


def _seek_past_furthest() -> SessionInput:
    s = Script().play().wait(300)
    return s.seek(s.pos + 600).wait(200).pause().end().session()


def _hidden_jump_playing() -> SessionInput:
    s = Script().play().wait(300).jump(120).wait(200)
    return s.pause().end().session()


def _hidden_jump_paused() -> SessionInput:
    s = Script().play().wait(300).pause().wait(20).jump(300)
    return s.play().wait(200).pause().end().session()


def _hidden_speed() -> SessionInput:
    return Script(speed=1.25).play().wait(400).pause().end().session()


def _complete_early() -> SessionInput:
    return watch(600).complete().end().session()


def _hidden_playback() -> SessionInput:
    return watch(300).hide().wait(60).show().wait(200).pause().end().session()


def _blurred_playback() -> SessionInput:
    return watch(300).blur().wait(90).focus().wait(200).pause().end().session()


def _throttled_heartbeats() -> SessionInput:
    s = watch(300)
    s.wait(600, heartbeat=60)  # a background tab whose client hides it: timers throttled
    return s.wait(100).pause().end().session()


def _flicker() -> SessionInput:
    s = watch(300)
    for _ in range(60):  # hidden 12 s, visible 3 s: each stretch within tolerance
        s.hide().wait(12).show().wait(3)
    return s.wait(100).pause().end().session()


def _overlap(other: tuple[float, float]) -> Callable[[], SessionInput]:
    def build() -> SessionInput:
        s = watch(600).pause().end()
        return s.session(others=(OtherSession("other", (other,)),))
    return build


def _no_popups() -> SessionInput:
    return watch(600).pause().end().session(confirm_every=None)


def _expired(pause_during: bool) -> Callable[[], SessionInput]:
    def build() -> SessionInput:
        s = watch(100)
        issued = s.t
        if pause_during:
            s.pause().wait(70).play()
        s.wait(150).pause().end()
        c = Challenge("x", "confirm", issued, issued + 60, None, "expired", 100.0)
        return s.session(challenges=(c,))
    return build


def _no_liveness() -> SessionInput:
    return watch(300).pause().end().session(liveness=False)


def _photos(*outcomes: tuple[str, float | None]) -> Callable[[], SessionInput]:
    def build() -> SessionInput:
        s = watch(300).pause().end()
        at = T0 + 150
        passed = any(o == "match" for o, _ in outcomes[:3])
        c = Challenge("pc", "photo", at, at + 60, at + 10, "passed" if passed else "failed", 150)
        ps = tuple(PhotoOutcome(f"p{i}", "pc", at + i, o, d) for i, (o, d) in enumerate(outcomes))
        return s.session(challenges=(c,), photos=ps)
    return build


def _order(prior: PriorLesson | None) -> Callable[[], SessionInput]:
    def build() -> SessionInput:
        priors = {} if prior is None else {"L1": prior}
        return watch(300).pause().end().session(priors=priors)
    return build


def _no_photo_class_hour() -> SessionInput:
    return watch(LESSON.duration_s).complete().end().session(photo=False)


def _uploaded_at_end() -> SessionInput:
    s = watch(1200).pause().end()
    last = s.t + 5
    s.events = [e.__class__(e.seq, e.type, e.client_ts, last, e.position, e.from_pos, e.to_pos,
                            e.rate, e.visible, e.focused, e.state) for e in s.events]
    return s.session()


# Each sample names the checks ("FAMILY.check", RuleSpec's code and name) it must trip: removing
# any one registered check makes a sample fail (test_every_check_has_a_positive_sample).
CASES: list[tuple[str, Callable[[], SessionInput], set[str]]] = [
    ("honest", _honest, set()),
    ("honest_complete_lesson", _complete_lesson, set()),
    ("honest_noise", _honest_with_noise, set()),
    ("lost_heartbeats", _lost_heartbeats, set()),
    ("slow_rate", _slow_rate, set()),
    ("rate_1.25", _rate_125,
     {"FAST_FORWARD.excessive_rate", "FAST_FORWARD.play_head_outruns_clock"}),
    ("rate_misclick_within_grace", _rate_misclick, set()),
    ("seek_past_furthest", _seek_past_furthest, {"FAST_FORWARD.seek_past_furthest"}),
    ("hidden_jump_playing", _hidden_jump_playing, {"FAST_FORWARD.play_head_outruns_clock"}),
    ("hidden_jump_paused", _hidden_jump_paused, {"FAST_FORWARD.seek_past_furthest"}),
    ("hidden_speed_1.25", _hidden_speed, {"FAST_FORWARD.play_head_outruns_clock"}),
    ("complete_without_coverage", _complete_early, {"FAST_FORWARD.complete_without_coverage"}),
    ("hidden_playback", _hidden_playback, {"MULTI_WINDOW.hidden_playback"}),
    ("blurred_playback", _blurred_playback, {"MULTI_WINDOW.blurred_playback"}),
    ("throttled_heartbeats", _throttled_heartbeats,
     {"MULTI_WINDOW.hidden_playback", "MULTI_WINDOW.unfocused_share"}),
    ("flickering_hidden", _flicker, {"MULTI_WINDOW.unfocused_share"}),
    ("overlapping_session", _overlap((T0 + 100, T0 + 400)), {"MULTI_WINDOW.overlapping_sessions"}),
    ("adjacent_session", _overlap((T0 - 2000, T0 + 5)), set()),
    ("no_popups", _no_popups, {"POPUP_GAP.gap_without_challenge"}),
    ("expired_while_playing", _expired(False), {"POPUP_GAP.expired_challenge"}),
    ("expired_while_paused", _expired(True), set()),
    ("no_liveness", _no_liveness, {"FACE_LIVENESS.opening_liveness"}),
    ("spoof", _photos(("spoof", 0.4)), {"FACE_LIVENESS.bad_photos"}),
    ("bad_frame_then_match", _photos(("poor_quality", None), ("match", 0.4)), set()),
    ("certain_mismatch", _photos(("mismatch", 0.9)), {"FACE_LIVENESS.bad_photos"}),
    ("borderline_mismatch_then_match", _photos(("mismatch", 0.62), ("match", 0.5)), set()),
    ("near_duplicate_then_match", _photos(("near_duplicate", 0.4), ("match", 0.4)), set()),
    ("near_duplicate_twice_then_match", _photos(("near_duplicate", 0.4),
                                                ("near_duplicate", 0.4), ("match", 0.4)), set()),
    ("near_duplicate_thrice", _photos(("near_duplicate", 0.4), ("near_duplicate", 0.4),
                                      ("near_duplicate", 0.4)), {"FACE_LIVENESS.bad_photos"}),
    ("no_face_thrice", _photos(("no_face", None), ("no_face", None), ("no_face", None)),
     {"FACE_LIVENESS.bad_photos"}),
    ("multiple_faces_then_nothing", _photos(("multiple_faces", None), ("no_face", None),
                                            ("poor_quality", None)), {"FACE_LIVENESS.bad_photos"}),
    ("order_ok", _order(PriorLesson("L1", "valid", T0 - 100)), set()),
    ("order_never_studied", _order(None), {"LESSON_ORDER.earlier_lessons_complete"}),
    ("order_completed_later", _order(PriorLesson("L1", "valid", T0 + 5000)),
     {"LESSON_ORDER.earlier_lessons_complete"}),
    ("order_earlier_invalid", _order(PriorLesson("L1", "invalid", T0 - 100)),
     {"LESSON_ORDER.earlier_lessons_complete"}),
    ("class_hour_without_photo", _no_photo_class_hour, {"RANDOM_PHOTO.class_hour_photos"}),
    ("uploaded_at_end", _uploaded_at_end, {"LATE_TELEMETRY.late_playback"}),
]


@pytest.mark.parametrize(("build", "expected"), [pytest.param(b, e, id=n) for n, b, e in CASES])
def test_rule_samples(build: Callable[[], SessionInput], expected: set[str],
                      policy: Policy) -> None:
    verdict = evaluate(build(), policy)
    found = {f"{v.rule}.{v.check}" for v in verdict.violations}
    assert found == expected, [v.detail for v in verdict.violations]
    assert set(verdict.rules_broken) == {e.split(".")[0] for e in expected}
    assert verdict.status == ("invalid" if expected else "valid"), verdict.pending_reasons


def test_every_check_has_a_positive_sample() -> None:
    tripped = {e for _, _, expected in CASES for e in expected}
    assert [f"{r.code}.{r.name}" for r in RULES if f"{r.code}.{r.name}" not in tripped] == []


@pytest.mark.parametrize("removed", [f"{r.code}.{r.name}" for r in RULES])
def test_removing_any_one_check_fails_a_sample(removed: str, policy: Policy,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Deleting a check from the registry changes what at least one sample finds (so
    test_rule_samples would fail): no check is untested."""
    monkeypatch.setattr(engine, "RULES", tuple(r for r in RULES if f"{r.code}.{r.name}" != removed))
    changed = [name for name, build, expected in CASES
               if {f"{v.rule}.{v.check}" for v in evaluate(build(), policy).violations} != expected]
    assert changed, f"no sample notices that {removed} is gone"


def test_violation_points_at_the_trouble(policy: Policy) -> None:
    s = Script().play().wait(300)
    jump_at = s.t
    verdict = evaluate(s.jump(120).wait(200).pause().end().session(), policy)
    (v,) = verdict.violations
    assert v.rule == "FAST_FORWARD"
    assert v.at <= jump_at + 10
    assert v.until >= jump_at
    assert v.evidence
    assert "lead_s" in v.evidence[0]


def test_invalid_session_credits_nothing_but_keeps_coverage(policy: Policy) -> None:
    verdict = evaluate(_hidden_playback(), policy)
    assert verdict.status == "invalid"
    assert verdict.credited_seconds == 0
    assert verdict.covered
    assert verdict.covered[0][1] > 500


def test_pending_while_earlier_lesson_pending(policy: Policy) -> None:
    verdict = evaluate(_order(PriorLesson("L1", "pending", T0 - 100))(), policy)
    assert verdict.status == "pending"
    assert any("LESSON_ORDER" in r for r in verdict.pending_reasons)


def test_open_session_is_pending_until_idle(policy: Policy) -> None:
    s = watch(600)
    session = s.session(ended=False)
    assert evaluate(session, policy, now=s.t + 10).status == "pending"
    assert evaluate(session, policy, now=s.t + policy.idle_timeout_s + 1).status == "valid"


def test_unanswered_challenge_pending_until_expiry(policy: Policy) -> None:
    s = watch(100)
    issued = s.t
    s.wait(20)
    c = Challenge("x", "confirm", issued, issued + 60, None, "pending", 100.0)
    session = s.session(challenges=(c,), ended=False)
    assert evaluate(session, policy, now=issued + 30).status == "pending"
    s.wait(60)
    late = s.session(challenges=(c,), ended=False)
    assert "POPUP_GAP" in evaluate(late, policy, now=issued + 90).rules_broken


def test_verdict_is_json_ready(policy: Policy) -> None:
    import json

    data = evaluate(_hidden_playback(), policy).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["policy_id"] == "henan-2021"
    assert data["policy_version"] == policy.version
    assert data["violations"][0]["rule"] == "MULTI_WINDOW"


# --- near_duplicate: a photo close to an earlier one, not proven a re-send ----------------

NEAR = "near_duplicate:hamming=4,residual=6.81,of=photo:p-earlier"


def _near_duplicates(n: int, challenge_outcome: str, end: bool = True) -> SessionInput:
    s = watch(300).pause()
    if end:
        s = s.end()
    at = T0 + 150
    c = Challenge("pc", "photo", at, at + 60, at + 10, challenge_outcome, 150)
    ps = tuple(PhotoOutcome(f"p{i}", "pc", at + i, "near_duplicate", 0.4, (NEAR,))
               for i in range(n))
    return s.session(challenges=(c,), photos=ps, ended=end)


def test_a_near_duplicate_is_not_fatal_while_retries_are_left(policy: Policy) -> None:
    session = _near_duplicates(1, "pending", end=False)
    verdict = evaluate(session, policy, now=T0 + 165)
    assert not verdict.violations
    assert verdict.status == "pending"
    assert any("may still be retried" in r for r in verdict.pending_reasons)


def test_near_duplicates_only_fail_once_every_allowed_frame_was_one(policy: Policy) -> None:
    verdict = evaluate(_near_duplicates(policy.photo_retry_allowance + 1, "failed"), policy)
    (v,) = [v for v in verdict.violations if v.rule == "FACE_LIVENESS"]
    assert "repeats an earlier photo" in v.detail
    # the distances behind each call reach the reviewer
    assert len(v.evidence) == policy.photo_retry_allowance + 1
    assert all(e["outcome"] == "near_duplicate" and e["reasons"] == [NEAR] for e in v.evidence)


def test_a_policy_may_make_near_duplicates_fatal(policy: Policy) -> None:
    strict = dataclasses.replace(policy, fatal_photo_outcomes=("spoof", "near_duplicate"))
    verdict = evaluate(_near_duplicates(1, "pending", end=False), strict, now=T0 + 165)
    assert [v.rule for v in verdict.violations] == ["FACE_LIVENESS"]
    assert verdict.status == "invalid"


# --- RANDOM_PHOTO in a lesson shorter than a class hour (issue 10) ---------------------------
SHORT = Lesson("L2", 2, 600.0, 0.25)


def _short_sitting(photo: str) -> SessionInput:
    """A 600 s lesson watched whole; the plan's one photo moment at playback 300 s was issued and
    ``photo``: "kept" (a matching face while it was open), "skipped" (never sent: it expired),
    or "none" (the learner left before the moment, so it was never issued)."""
    s = watch(600 if photo != "none" else 240).complete().end()
    challenges: tuple[Challenge, ...] = ()
    photos: tuple[PhotoOutcome, ...] = ()
    if photo != "none":
        at = s.wall_at(300)
        kept = photo == "kept"
        challenges = (Challenge("ph", "photo", at, at + 60, at + 2 if kept else None,
                                "passed" if kept else "expired", 300.0, 1),)
        photos = (PhotoOutcome("ph-p", "ph", at + 2, "match", 0.4),) if kept else ()
    return s.session(lesson=SHORT, photo=False, challenges=challenges, photos=photos)


def test_a_skipped_photo_in_a_short_lesson_is_named_random_photo(policy: Policy) -> None:
    verdict = evaluate(_short_sitting("skipped"), policy)
    assert "RANDOM_PHOTO" in verdict.rules_broken, [v.detail for v in verdict.violations]
    assert verdict.status == "invalid"


def test_a_kept_photo_or_an_unreached_moment_is_no_random_photo(policy: Policy) -> None:
    for photo in ("kept", "none"):
        verdict = evaluate(_short_sitting(photo), policy)
        assert "RANDOM_PHOTO" not in verdict.rules_broken, (photo, verdict.violations)


def _middle_sitting(after_photo_s: float) -> SessionInput:
    """The second of three sittings of SHORT (200-400 s of the media): the photo moment the
    plan drew comes ``after_photo_s`` of playback before the learner stops there (pause, leave);
    the photo challenge expires with nothing sent."""
    s = Script(pos=200.0).play().wait(200.0 - after_photo_s)
    at = s.t
    s.wait(after_photo_s).pause().wait(70.0).end()
    photo = Challenge("ph", "photo", at, at + 60, None, "expired", 200.0 - after_photo_s, 1)
    return dataclasses.replace(s.session(lesson=SHORT, photo=False, challenges=(photo,)),
                               prior_covered=((0.0, 200.0),))


def test_a_photo_issued_as_the_sitting_stops_is_owed_by_the_next_sitting(policy: Policy) -> None:
    """The learner paused and left seconds after the photo popped up: like a moment never
    reached, the photo is owed at lesson level (the next sitting draws one over what is left),
    not a RANDOM_PHOTO of this sitting; playing on past it with no photo still is one."""
    stopped = evaluate(_middle_sitting(5.0), policy)
    assert stopped.status == "valid", [v.detail for v in stopped.violations]
    played_on = evaluate(_middle_sitting(100.0), policy)
    assert "RANDOM_PHOTO" in played_on.rules_broken, played_on.violations
