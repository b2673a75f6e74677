"""POPUP_GAP (连续5分钟内无弹窗管控): no stretch of playback longer than ``popup_max_gap_s``
without a passed challenge, and no challenge left unanswered past its expiry while the video
kept playing. Playback seconds, not wall seconds: a paused learner is never penalised."""

from __future__ import annotations

from proctor.domain.model import Challenge
from proctor.domain.rules.base import POPUP_GAP, Findings, RuleContext, r3


def unanswered_in_time(c: Challenge, now: float) -> bool:
    """Expired, or still unanswered after its expiry, or answered late."""
    if c.outcome == "expired":
        return True
    if c.answered_at is None:
        return c.outcome == "pending" and now > c.expires_at
    return c.answered_at > c.expires_at


def _gaps(anchors: list[float], total: float, limit: float) -> list[tuple[float, float]]:
    out = []
    prev = 0.0
    for a in sorted(anchors) + [total]:
        a = min(max(a, 0.0), total)
        if a - prev > limit:
            out.append((prev, a))
        prev = max(prev, a)
    return out


def gap_without_challenge(ctx: RuleContext) -> Findings:
    out = Findings()
    clock = ctx.clock
    limit = ctx.policy.popup_max_gap_s
    if clock.total <= limit:
        return out
    firm: list[float] = []
    provisional: list[float] = []
    for c in ctx.session.challenges:
        if c.answered_at is None or c.answered_at > c.expires_at:
            continue
        if c.outcome == "passed":
            firm.append(clock.at(c.answered_at))
        elif c.outcome == "pending":  # answered, the face pipeline has not spoken yet
            provisional.append(clock.at(c.answered_at))
    gaps = _gaps(firm + provisional, clock.total, limit)
    for p0, p1 in gaps:
        out.flag(POPUP_GAP, clock.wall_time(p0), clock.wall_time(p1),
                 f"{p1 - p0:.0f} s of playback without a passed challenge "
                 f"(max {limit:.0f} s)",
                 [{"playback_from_s": r3(p0), "playback_to_s": r3(p1)}])
    if provisional and not gaps and _gaps(firm, clock.total, limit):
        out.pending.append("POPUP_GAP: challenge answers awaiting the face pipeline")
    return out


def expired_challenge(ctx: RuleContext) -> Findings:
    out = Findings()
    tol = ctx.policy.expiry_playback_tolerance_s
    for c in ctx.session.challenges:
        if not unanswered_in_time(c, ctx.now):
            continue
        played = ctx.clock.between(c.issued_at, c.expires_at)
        if played > tol:  # an expiry while paused is excused: nobody was watching
            out.flag(POPUP_GAP, c.issued_at, c.expires_at,
                     f"{c.kind} challenge {c.id} unanswered by its expiry while {played:.0f} s "
                     "played",
                     [{"challenge_id": c.id, "kind": c.kind, "issued_at": c.issued_at,
                       "expires_at": c.expires_at, "answered_at": c.answered_at}])
    return out
