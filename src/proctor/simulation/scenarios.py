"""The scenarios: honest learners with realistic noise, and each cheat with evasive variants.

A scenario is data (a :class:`Behaviour`); the learner model in :mod:`.learner` acts it out.
``expect`` names the rule(s) meant to catch a cheat; an honest scenario expects none."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Behaviour:
    name: str
    expect: tuple[str, ...] = ()  # rule codes meant to catch it; () = honest
    # where in the media (fraction) the cheat starts
    at_fraction: float = 0.3
    # playback speed
    true_speed: float = 1.0
    reported_rate: float = 1.0
    # play head moves
    seek_forward_s: float = 0.0  # explicit seek ahead
    hidden_jump_s: float = 0.0  # play head jumps with no seek event while playing
    paused_jump_s: float = 0.0  # pause, then resume ahead with no seek event
    complete_early: bool = False  # send lesson.complete at at_fraction and leave
    # windows
    hidden_s: float = 0.0  # play with the page hidden this long
    lie_visible: bool = False  # patched client: no visibility events, heartbeats say visible
    blur_s: float = 0.0  # play unfocused this long
    flicker: bool = False  # hide 12 s / show 3 s repeatedly (evades per-stretch limits)
    second_tab: bool = False  # another session of the same learner plays at the same time
    # challenges and faces
    poll_challenges: bool = True
    answer_confirm: bool = True
    answer_photo: bool = True
    liveness_frame: str = "self"  # self | replay | other | nobody | two
    photo_frame: str = "self"
    # lessons and delivery
    out_of_order: bool = False
    upload_at_end: bool = False  # every event sent in one batch after the session
    compress_time: float = 1.0  # client timestamps squeezed (a bot replaying fast)
    honest_noise: bool = True
    # honest conditions (issue 10): a client clock this far off on every field it sends (None:
    # a random constant skew within ±10 min); one lesson studied in this many sittings
    clock_skew_s: float | None = None
    sittings: int = 1


HONEST = Behaviour("honest")
# honest learners whose conditions used to fail them: each must come out valid
HONEST_VARIANTS: tuple[Behaviour, ...] = (
    Behaviour("honest_clock_fast", clock_skew_s=600.0),
    Behaviour("honest_clock_slow", clock_skew_s=-600.0),
    Behaviour("honest_three_sittings", sittings=3),
)

CHEATS: tuple[Behaviour, ...] = (
    Behaviour("seek_forward", ("FAST_FORWARD",), seek_forward_s=600),
    Behaviour("hidden_seek_playing", ("FAST_FORWARD",), hidden_jump_s=600),
    Behaviour("hidden_seek_paused", ("FAST_FORWARD",), paused_jump_s=600),
    Behaviour("small_hidden_seeks", ("FAST_FORWARD",), hidden_jump_s=8, at_fraction=0.1),
    Behaviour("speed_1.25", ("FAST_FORWARD",), true_speed=1.25, reported_rate=1.25),
    Behaviour("speed_2.0", ("FAST_FORWARD",), true_speed=2.0, reported_rate=2.0),
    Behaviour("speed_1.25_hidden", ("FAST_FORWARD",), true_speed=1.25),
    Behaviour("speed_2.0_hidden", ("FAST_FORWARD",), true_speed=2.0),
    Behaviour("complete_without_watching", ("FAST_FORWARD",), complete_early=True),
    Behaviour("background_tab", ("MULTI_WINDOW",), hidden_s=600),
    Behaviour("background_tab_lying", ("MULTI_WINDOW",), hidden_s=900, lie_visible=True),
    Behaviour("unfocused_window", ("MULTI_WINDOW",), blur_s=300),
    Behaviour("flicker_hidden", ("MULTI_WINDOW",), flicker=True, at_fraction=0.1),
    Behaviour("two_tabs", ("MULTI_WINDOW",), second_tab=True),
    Behaviour("skipped_popups", ("POPUP_GAP",), answer_confirm=False),
    Behaviour("never_polls_challenges", ("POPUP_GAP", "FACE_LIVENESS"), poll_challenges=False),
    Behaviour("replayed_photo", ("FACE_LIVENESS",), photo_frame="replay"),
    Behaviour("replayed_liveness", ("FACE_LIVENESS",), liveness_frame="replay"),
    Behaviour("stand_in", ("FACE_LIVENESS",), liveness_frame="other", photo_frame="other"),
    Behaviour("away_from_camera", ("FACE_LIVENESS",), photo_frame="nobody"),
    Behaviour("skipped_photo", ("RANDOM_PHOTO", "POPUP_GAP"), answer_photo=False),
    Behaviour("out_of_order_lesson", ("LESSON_ORDER",), out_of_order=True),
    Behaviour("fabricated_upload", ("LATE_TELEMETRY",), upload_at_end=True),
    Behaviour("fabricated_fast_replay", ("FAST_FORWARD", "LATE_TELEMETRY"), upload_at_end=True,
              compress_time=0.1),
)

SCENARIOS: dict[str, Behaviour] = {b.name: b for b in (HONEST, *HONEST_VARIANTS, *CHEATS)}
