"""FACE_LIVENESS (无法进行人脸活体比对): a passed liveness check must open the session, and no
photo may show another person, no face, several faces or a replayed still.

One bad frame does not fail a learner: per challenge, up to ``photo_retry_allowance`` frames
with a non-fatal bad outcome are forgiven when a later frame matches. Outcomes listed in
``fatal_photo_outcomes`` (a replayed still: ``spoof``) and mismatches at or beyond
``certain_mismatch_distance`` (clearly someone else) fail at once.

``near_duplicate`` (a photo close to an earlier one but not proven the same still: learners
sitting still produce those too) is such a forgivable frame: the client takes another photo
at once. Only a challenge whose every allowed frame was bad fails, and its evidence keeps
each frame's reasons (the pHash and pixel distances to the earlier photo)."""

from __future__ import annotations

from collections import defaultdict

from proctor.domain.model import PhotoOutcome
from proctor.domain.rules.base import FACE_LIVENESS, Findings, RuleContext
from proctor.domain.rules.popup_gap import unanswered_in_time

NEAR_DUPLICATE = "near_duplicate"


def opening_liveness(ctx: RuleContext) -> Findings:
    out = Findings()
    grace = ctx.policy.liveness_open_grace_s
    clock = ctx.clock
    if clock.total <= grace:
        return out
    waiting = False
    for c in ctx.session.challenges:
        if c.kind != "liveness":
            continue
        if c.outcome == "passed" and c.answered_at is not None:
            if clock.at(c.answered_at) <= grace:
                return out
        elif c.outcome == "pending" and not unanswered_in_time(c, ctx.now):
            if clock.at(c.answered_at if c.answered_at is not None else ctx.now) <= grace:
                waiting = True
    if waiting:
        out.pending.append("FACE_LIVENESS: opening liveness check awaiting the face pipeline")
        return out
    start = ctx.timeline.first_play_t or 0.0
    out.flag(FACE_LIVENESS, start, clock.wall_time(grace),
             f"no passed liveness check within the first {grace:.0f} s of playback")
    return out


def _photo_evidence(p: PhotoOutcome) -> dict[str, object]:
    return {"photo_id": p.id, "challenge_id": p.challenge_id, "outcome": p.outcome,
            "distance": p.distance, "taken_at": p.taken_at, "reasons": list(p.reasons)}


def bad_photos(ctx: RuleContext) -> Findings:
    out = Findings()
    pol = ctx.policy
    fatal = pol.fatal_photo_outcomes
    by_challenge: dict[str, list[PhotoOutcome]] = defaultdict(list)
    for p in ctx.session.photos:
        by_challenge[p.challenge_id].append(p)
        certain_mismatch = (p.outcome == "mismatch" and p.distance is not None
                            and p.distance >= pol.certain_mismatch_distance)
        if p.outcome in fatal or certain_mismatch:
            what = "another person's face" if certain_mismatch else p.outcome
            out.flag(FACE_LIVENESS, p.taken_at, p.taken_at, f"photo {p.id}: {what}",
                     [_photo_evidence(p)])
    challenges = {c.id: c for c in ctx.session.challenges}
    allowed = pol.photo_retry_allowance + 1
    for cid, photos in by_challenge.items():
        photos.sort(key=lambda p: (p.taken_at, p.id))
        tried = photos[:allowed]
        if any(p.outcome == "match" for p in tried):
            continue
        c = challenges.get(cid)
        still_open = c is not None and c.outcome == "pending" and not unanswered_in_time(
            c, ctx.now)
        if len(photos) < allowed and still_open:
            out.pending.append(f"FACE_LIVENESS: challenge {cid} may still be retried")
            continue
        if any(p.outcome in fatal for p in tried):
            continue  # already flagged above
        outcomes = ", ".join(p.outcome for p in tried)
        if all(p.outcome == NEAR_DUPLICATE for p in tried):
            what = f"every frame ({len(tried)}) repeats an earlier photo ({outcomes})"
        else:
            what = f"no matching face in {len(tried)} frame(s) ({outcomes})"
        out.flag(FACE_LIVENESS, tried[0].taken_at, tried[-1].taken_at,
                 f"challenge {cid}: {what}", [_photo_evidence(p) for p in tried])
    return out


def kept_photo_anchors(ctx: RuleContext) -> tuple[list[float], list[float]]:
    """Playback moments of matching photos taken for a drawn ``photo`` challenge while it was
    open (firm), and of photos still awaiting analysis (pending)."""
    firm: list[float] = []
    pending: list[float] = []
    challenges = {c.id: c for c in ctx.session.challenges if c.kind == "photo"}
    matched: set[str] = set()
    for p in ctx.session.photos:
        c = challenges.get(p.challenge_id)
        if c is None or not c.issued_at <= p.taken_at <= c.expires_at:
            continue
        if p.outcome == "match" and c.outcome == "passed" and c.id not in matched:
            matched.add(c.id)
            firm.append(ctx.clock.at(p.taken_at))
    for c in challenges.values():
        if c.outcome == "pending" and c.id not in matched and c.answered_at is not None \
                and c.answered_at <= c.expires_at:
            pending.append(ctx.clock.at(c.answered_at))
    return firm, pending


