"""RANDOM_PHOTO (每课时无随机保留影像照片): every full class hour of this session's playback
holds a kept photo (a matching face, taken while a ``photo`` challenge the scheduler drew was
open). The final part of a class hour (all of a lesson shorter than one) is judged here only
when its drawn photo challenge was issued in this session and expired with no photo sent: the
plan named a photo there and the learner did not give it (a photo sent but refused is
FACE_LIVENESS's finding, and is retried). A part whose
moment was never reached (a sitting that stopped before it) is judged at lesson level, where
another sitting may hold its photo (see engine.aggregate_lesson); so is one whose photo challenge
the learner left behind: the sitting stopped (paused, ended) within
``expiry_playback_tolerance_s`` of playback after it was issued, as POPUP_GAP excuses it, and
the next sitting's plan draws a photo over what is left of the lesson."""

from __future__ import annotations

from proctor.domain.rules.base import RANDOM_PHOTO, Findings, RuleContext
from proctor.domain.rules.face_liveness import kept_photo_anchors


def class_hour_photos(ctx: RuleContext) -> Findings:
    out = Findings()
    hour = ctx.policy.class_hour_s
    clock = ctx.clock
    firm, pending = kept_photo_anchors(ctx)
    full = int(clock.total // hour)
    spans = [(k * hour, (k + 1) * hour) for k in range(full)]
    if clock.total > full * hour and _missed_in(ctx, full * hour, clock.total):
        spans.append((full * hour, clock.total))
    for k, (lo, hi) in enumerate(spans):
        if any(lo <= a <= hi for a in firm):
            continue
        if any(lo <= a <= hi for a in pending):
            out.pending.append(f"RANDOM_PHOTO: class hour {k + 1} photo awaiting analysis")
            continue
        part = "" if hi - lo >= hour else " (the part of a class hour this lesson has)"
        out.flag(RANDOM_PHOTO, clock.wall_time(lo), clock.wall_time(hi),
                 f"class hour {k + 1} of playback ({lo:.0f}-{hi:.0f} s){part} has no kept photo "
                 "taken at a drawn moment",
                 [{"class_hour": k + 1, "playback_from_s": lo, "playback_to_s": hi}])
    return out


def _missed_in(ctx: RuleContext, lo: float, hi: float) -> bool:
    """A photo challenge issued within playback [lo, hi] that expired with nothing sent while
    the video played on (not one left behind as the sitting stopped)."""
    tol = ctx.policy.expiry_playback_tolerance_s
    return any(c.kind == "photo" and c.issued_playback_s is not None
               and lo <= c.issued_playback_s <= hi
               and c.answered_at is None
               and (c.outcome == "expired" or (c.outcome == "pending" and c.expires_at < ctx.now))
               and ctx.clock.total - ctx.clock.at(c.issued_at) > tol
               for c in ctx.session.challenges)
