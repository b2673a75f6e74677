"""LESSON_ORDER (专业课程学习不按内容先后顺序): a lesson may be studied only after every
earlier lesson of the course was completed validly. Judged at the session's first playback:
finishing an earlier lesson afterwards does not repair the order."""

from __future__ import annotations

from proctor.domain.rules.base import LESSON_ORDER, Findings, RuleContext


def earlier_lessons_complete(ctx: RuleContext) -> Findings:
    out = Findings()
    start = ctx.timeline.first_play_t
    if not ctx.policy.enforce_lesson_order or start is None:
        return out
    session = ctx.session
    missing: list[str] = []
    waiting: list[str] = []
    for lesson in session.course.earlier_lessons(session.lesson):
        prior = session.prior_lessons.get(lesson.id)
        if prior is None or prior.completed_at is None or prior.completed_at > start:
            missing.append(lesson.id)
        elif prior.status == "pending":
            waiting.append(lesson.id)
        elif prior.status != "valid":
            missing.append(lesson.id)
    if missing:
        out.flag(LESSON_ORDER, start, start,
                 f"lesson {session.lesson.id} played before earlier lesson(s) "
                 f"{', '.join(missing)} were completed validly",
                 [{"lesson_id": x, "status": (session.prior_lessons[x].status
                                              if x in session.prior_lessons else "not started")}
                  for x in missing[:10]])
    elif waiting:
        out.pending.append(f"LESSON_ORDER: earlier lesson(s) {', '.join(waiting)} pending")
    return out
