"""The rule registry: every check the engine runs, under its rule code, in one place."""

from __future__ import annotations

from proctor.domain.rules import (
    face_liveness,
    fast_forward,
    late_telemetry,
    lesson_order,
    multi_window,
    popup_gap,
    random_photo,
)
from proctor.domain.rules.base import (
    FACE_LIVENESS,
    FAST_FORWARD,
    LATE_TELEMETRY,
    LESSON_ORDER,
    MULTI_WINDOW,
    POPUP_GAP,
    RANDOM_PHOTO,
    Findings,
    RuleContext,
    RuleSpec,
)

RULES: tuple[RuleSpec, ...] = (
    RuleSpec(FAST_FORWARD, "excessive_rate", fast_forward.excessive_rate),
    RuleSpec(FAST_FORWARD, "seek_past_furthest", fast_forward.seek_past_furthest),
    RuleSpec(FAST_FORWARD, "play_head_outruns_clock", fast_forward.play_head_outruns_clock),
    RuleSpec(FAST_FORWARD, "complete_without_coverage", fast_forward.complete_without_coverage),
    RuleSpec(MULTI_WINDOW, "hidden_playback", multi_window.hidden_playback),
    RuleSpec(MULTI_WINDOW, "blurred_playback", multi_window.blurred_playback),
    RuleSpec(MULTI_WINDOW, "unfocused_share", multi_window.unfocused_share),
    RuleSpec(MULTI_WINDOW, "overlapping_sessions", multi_window.overlapping_sessions),
    RuleSpec(POPUP_GAP, "gap_without_challenge", popup_gap.gap_without_challenge),
    RuleSpec(POPUP_GAP, "expired_challenge", popup_gap.expired_challenge),
    RuleSpec(FACE_LIVENESS, "opening_liveness", face_liveness.opening_liveness),
    RuleSpec(FACE_LIVENESS, "bad_photos", face_liveness.bad_photos),
    RuleSpec(LESSON_ORDER, "earlier_lessons_complete", lesson_order.earlier_lessons_complete),
    RuleSpec(RANDOM_PHOTO, "class_hour_photos", random_photo.class_hour_photos),
    RuleSpec(LATE_TELEMETRY, "late_playback", late_telemetry.late_playback),
)

RULE_CODES: tuple[str, ...] = (
    FAST_FORWARD, MULTI_WINDOW, POPUP_GAP, FACE_LIVENESS, LESSON_ORDER, RANDOM_PHOTO,
    LATE_TELEMETRY,
)

__all__ = ["RULES", "RULE_CODES", "Findings", "RuleContext", "RuleSpec"]
