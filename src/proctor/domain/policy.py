"""Policies: every threshold the rules and the scheduler use, loaded from TOML.

A policy file has a ``[policy]`` table (``id``, ``version``, ``description``) and one table
per concern; every key of :class:`Policy` must appear in its table, and unknown keys are
refused, so a typo can never silently fall back to a default.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from proctor.domain.model import PHOTO_VERDICTS

POLICY_DIR = Path(__file__).resolve().parents[3] / "config" / "policies"


class PolicyError(ValueError):
    """The policy file is missing, malformed, or has unknown / missing / mistyped keys."""


def _in(section: str) -> Any:
    return field(metadata={"section": section})


@dataclass(frozen=True, slots=True)
class Policy:
    id: str = _in("policy")
    version: str = _in("policy")
    description: str = _in("policy")

    # FAST_FORWARD
    max_rate: float = _in("playback")
    rate_tolerance: float = _in("playback")
    rate_grace_s: float = _in("playback")
    seek_tolerance_s: float = _in("playback")
    drift_tolerance_s: float = _in("playback")
    drift_tolerance_fraction: float = _in("playback")
    completion_coverage: float = _in("playback")
    unverified_gap_s: float = _in("playback")
    coverage_join_s: float = _in("playback")

    # clocks and LATE_TELEMETRY
    late_telemetry_s: float = _in("clock")
    late_playback_tolerance_s: float = _in("clock")
    idle_timeout_s: float = _in("clock")
    max_event_age_s: float = _in("clock")

    # MULTI_WINDOW
    hidden_tolerance_s: float = _in("focus")
    blur_tolerance_s: float = _in("focus")
    unfocused_max_share: float = _in("focus")
    unfocused_share_min_s: float = _in("focus")
    unfocused_share_window_s: float = _in("focus")
    throttled_heartbeat_gap_s: float = _in("focus")
    overlap_tolerance_s: float = _in("focus")

    # POPUP_GAP and the scheduler
    popup_max_gap_s: float = _in("popup")
    challenge_expiry_s: float = _in("popup")
    expiry_playback_tolerance_s: float = _in("popup")
    scheduler_margin_s: float = _in("popup")
    scheduler_min_gap_s: float = _in("popup")
    plan_horizon_factor: float = _in("popup")

    # FACE_LIVENESS and RANDOM_PHOTO
    liveness_open_grace_s: float = _in("face")
    photo_retry_allowance: int = _in("face")
    challenge_max_attempts: int = _in("face")
    session_max_failed_challenges: int = _in("face")
    fatal_photo_outcomes: tuple[str, ...] = _in("face")
    match_model: str = _in("face")
    match_distance: float = _in("face")
    certain_mismatch_distance: float = _in("face")
    dlib_veto_distance: float = _in("face")
    replay_candidate_hamming: int = _in("face")
    replay_max_residual: float = _in("face")
    near_duplicate_hamming: int = _in("face")
    class_hour_s: float = _in("face")
    photo_edge_margin_s: float = _in("face")
    # where a reference photo may come from: photo (one platform upload) | burst (enrolment
    # liveness) | staff_reviewed (an upload institution staff checked against the person)
    enrolment_sources: tuple[str, ...] = _in("face")

    # LESSON_ORDER and aggregation
    enforce_lesson_order: bool = _in("lesson")
    invalid_session_taints_lesson: bool = _in("lesson")
    makeup: str = _in("lesson")  # 补学: after_leave | always | never (domain/makeup.py)

    # class rules at registration (docs/paperwork.md)
    max_class_size: int = _in("class")
    practical_min_hours: float = _in("class")

    # satisfaction gate
    satisfaction_min_rate: float = _in("satisfaction")
    rectification_months: int = _in("satisfaction")
    satisfaction_min_responses: int = _in("satisfaction")

    # subsidy roster public notice (公示)
    notice_working_days: int = _in("notice")
    review_working_days: int = _in("notice")


_PHOTO_OUTCOMES = PHOTO_VERDICTS
MAKEUP_MODES = ("after_leave", "always", "never")
# Tables other loaders own and validate (domain/county/policy.py reads [county]).
EXTENSION_TABLES = frozenset({"county"})
# the face matchers of proctor.vision.faces.Matcher (kept as plain names: domain has no I/O)
MATCH_MODELS = ("sface", "dlib", "sface+dlib_veto")
ENROLMENT_SOURCES = ("photo", "burst", "staff_reviewed")
_PHASH_BITS = 64


def load_policy(name_or_path: str | Path) -> Policy:
    """Load ``config/policies/<name>.toml`` or a path to a TOML file, validated."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = POLICY_DIR / f"{name_or_path}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"policy file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from exc
    return policy_from_mapping(raw, source=str(path))


def policy_from_mapping(raw: dict[str, Any], *, source: str = "<mapping>") -> Policy:
    expected: dict[str, dict[str, Any]] = {}
    for f in fields(Policy):
        expected.setdefault(f.metadata["section"], {})[f.name] = f.type
    problems: list[str] = []
    for section in raw.keys() - expected.keys() - EXTENSION_TABLES:
        problems.append(f"unknown table [{section}]")
    values: dict[str, Any] = {}
    for section, keys in expected.items():
        table = raw.get(section)
        if not isinstance(table, dict):
            problems.append(f"missing table [{section}]")
            continue
        for key in table.keys() - keys.keys():
            problems.append(f"unknown key {section}.{key}")
        for key, type_name in keys.items():
            if key not in table:
                problems.append(f"missing key {section}.{key}")
                continue
            value, error = _coerce(table[key], str(type_name))
            if error:
                problems.append(f"{section}.{key}: {error}")
            values[key] = value
    if not problems:
        problems.extend(_check_ranges(values))
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(sorted(problems)))
    return Policy(**values)


def _coerce(value: Any, type_name: str) -> tuple[Any, str | None]:
    if type_name == "str":
        return (value, None) if isinstance(value, str) else (value, "must be a string")
    if type_name == "bool":
        return (value, None) if isinstance(value, bool) else (value, "must be true or false")
    if type_name == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (value, None) if ok else (value, "must be an integer")
    if type_name == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value), None
        return value, "must be a number"
    if type_name == "tuple[str, ...]":
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value), None
        return value, "must be a list of strings"
    raise AssertionError(f"unhandled policy field type {type_name}")  # pragma: no cover


def _check_ranges(v: dict[str, Any]) -> list[str]:
    problems = []
    for name, value in v.items():
        if isinstance(value, float) and value < 0:
            problems.append(f"{name} must not be negative")
    if not 0 < v["completion_coverage"] <= 1:
        problems.append("completion_coverage must be in (0, 1]")
    if v["unfocused_share_window_s"] <= 0:
        problems.append("unfocused_share_window_s must be positive")
    if not 0 < v["unfocused_max_share"] <= 1:
        problems.append("unfocused_max_share must be in (0, 1]")
    if v["scheduler_min_gap_s"] >= v["popup_max_gap_s"] - v["scheduler_margin_s"]:
        problems.append("scheduler_min_gap_s must be below popup_max_gap_s - scheduler_margin_s")
    if v["scheduler_margin_s"] < v["challenge_expiry_s"]:
        problems.append("scheduler_margin_s must cover challenge_expiry_s")
    if v["class_hour_s"] <= 2 * v["photo_edge_margin_s"]:
        problems.append("class_hour_s must exceed twice photo_edge_margin_s")
    if v["max_rate"] <= 0:
        problems.append("max_rate must be positive")
    for name in ("replay_candidate_hamming", "near_duplicate_hamming"):
        if not 0 <= v[name] <= _PHASH_BITS:
            problems.append(f"{name} must be in 0..{_PHASH_BITS} (bits of the pHash)")
    if v["near_duplicate_hamming"] > v["replay_candidate_hamming"]:
        problems.append("near_duplicate_hamming must not exceed replay_candidate_hamming")
    if v["makeup"] not in MAKEUP_MODES:
        problems.append(f"makeup must be one of {', '.join(MAKEUP_MODES)}")
    if not 0 < v["satisfaction_min_rate"] <= 1:
        problems.append("satisfaction_min_rate must be in (0, 1]")
    for name in ("max_class_size", "notice_working_days", "review_working_days",
                 "rectification_months", "satisfaction_min_responses"):
        if v[name] < 1:
            problems.append(f"{name} must be at least 1")
    if v["match_model"] not in MATCH_MODELS:
        problems.append(f"match_model must be one of {', '.join(MATCH_MODELS)}")
    if v["certain_mismatch_distance"] <= v["match_distance"]:
        problems.append("certain_mismatch_distance must exceed match_distance")
    bad_sources = set(v["enrolment_sources"]) - set(ENROLMENT_SOURCES)
    if bad_sources or not v["enrolment_sources"]:
        problems.append(f"enrolment_sources must be a non-empty list of "
                        f"{', '.join(ENROLMENT_SOURCES)}")
    unknown = set(v["fatal_photo_outcomes"]) - _PHOTO_OUTCOMES
    if unknown:
        problems.append(f"fatal_photo_outcomes has unknown outcomes {sorted(unknown)}")
    return problems
