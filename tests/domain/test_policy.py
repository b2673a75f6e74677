from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from proctor.domain.policy import POLICY_DIR, PolicyError, load_policy, policy_from_mapping


def _raw() -> dict[str, Any]:
    return tomllib.loads((POLICY_DIR / "henan-2021.toml").read_text())


def test_henan_loads_with_the_plan_thresholds() -> None:
    p = load_policy("henan-2021")
    assert (p.id, p.max_rate, p.popup_max_gap_s, p.class_hour_s) == ("henan-2021", 1.0, 300, 2400)
    assert p.fatal_photo_outcomes == ("spoof",)  # near_duplicate is retried, not fatal
    assert (p.replay_candidate_hamming, p.replay_max_residual, p.near_duplicate_hamming) == (
        20, 1.5, 6)
    assert load_policy(POLICY_DIR / "henan-2021.toml") == p


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda r: r["playback"].update(max_rat=1.0), "unknown key playback.max_rat"),
    (lambda r: r["playback"].pop("max_rate"), "missing key playback.max_rate"),
    (lambda r: r.pop("clock"), "missing table [clock]"),
    (lambda r: r.update(extra={}), "unknown table [extra]"),
    (lambda r: r["popup"].update(popup_max_gap_s="300"), "must be a number"),
    (lambda r: r["lesson"].update(enforce_lesson_order=1), "must be true or false"),
    (lambda r: r["face"].update(fatal_photo_outcomes=["spoofed"]), "unknown outcomes"),
    (lambda r: r["popup"].update(scheduler_margin_s=10.0), "must cover challenge_expiry_s"),
    (lambda r: r["face"].pop("replay_max_residual"), "missing key face.replay_max_residual"),
    (lambda r: r["face"].update(replay_candidate_hamming=6.5), "must be an integer"),
    (lambda r: r["face"].update(replay_candidate_hamming=65), "must be in 0..64"),
    (lambda r: r["face"].update(near_duplicate_hamming=24), "must not exceed replay_candidate"),
    (lambda r: r["face"].update(replay_max_residual=-1.0), "must not be negative"),
    (lambda r: r["face"].update(enrolment_sources=["selfie"]), "enrolment_sources must be"),
    (lambda r: r["face"].update(enrolment_sources=[]), "enrolment_sources must be"),
])
def test_bad_policies_fail_clearly(mutate: Any, message: str) -> None:
    raw = _raw()
    mutate(raw)
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        policy_from_mapping(raw)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.toml")


def test_near_duplicate_is_an_outcome_a_policy_may_name() -> None:
    raw = _raw()
    raw["face"]["fatal_photo_outcomes"] = ["spoof", "near_duplicate"]
    assert policy_from_mapping(raw).fatal_photo_outcomes == ("spoof", "near_duplicate")
