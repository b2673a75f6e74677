"""RANDOM_PHOTO (每课时无随机保留影像照片): every full class hour of this session's playback
holds a kept photo (a matching face, taken while a ``photo`` challenge the scheduler drew was
open). A final partial class hour is judged at lesson level (see engine.aggregate_lesson)."""

from __future__ import annotations

from proctor.domain.rules.base import RANDOM_PHOTO, Findings, RuleContext
from proctor.domain.rules.face_liveness import kept_photo_anchors


def class_hour_photos(ctx: RuleContext) -> Findings:
    out = Findings()
    hour = ctx.policy.class_hour_s
    clock = ctx.clock
    firm, pending = kept_photo_anchors(ctx)
    for k in range(int(clock.total // hour)):
        lo, hi = k * hour, (k + 1) * hour
        if any(lo <= a <= hi for a in firm):
            continue
        if any(lo <= a <= hi for a in pending):
            out.pending.append(f"RANDOM_PHOTO: class hour {k + 1} photo awaiting analysis")
            continue
        out.flag(RANDOM_PHOTO, clock.wall_time(lo), clock.wall_time(hi),
                 f"class hour {k + 1} of playback ({lo:.0f}-{hi:.0f} s) has no kept photo "
                 "taken at a drawn moment",
                 [{"class_hour": k + 1, "playback_from_s": lo, "playback_to_s": hi}])
    return out
