"""Standings read from verdict summaries (CohortReads: no violations shipped or parsed, rule
codes from the `rules` column) equal the standings read from whole verdicts, learner by learner:
valid, invalid (several rules), overturned on review, under review, pending, never judged."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from conftest import make_world
from proctor.config import Settings
from proctor.portal.templating import DISPLAY_TZ
from proctor.services.policies import policy_for
from proctor.services.standing import standing, standings
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.repositories import portal as repo
from proctor.storage.tables import Course, Learner, SessionVerdict, StudySession


def test_standings_from_summaries_equal_whole_verdicts(settings: Settings) -> None:
    world = make_world(settings)
    home, other = "410105", "410223"
    factory = session_factory(engine_for(settings.database_url))
    with unit_of_work(factory) as uow:
        s = uow.session
        # invalid, several rules: the MULTI_WINDOW sitting also breaks LESSON_ORDER's rule
        flagged = s.get(SessionVerdict, world.flagged[home])
        cascaded = s.get(SessionVerdict, world.cascaded[home])
        assert flagged and cascaded and flagged.status == cascaded.status == "invalid"
        extra = [v for v in cascaded.result["violations"] if v["rule"] not in flagged.rules]
        assert extra
        flagged.result = {**flagged.result, "violations": flagged.result["violations"] + extra}
        flagged.rules = sorted({*flagged.rules, *(v["rule"] for v in extra)})
        assert len(flagged.rules) >= 2
        cascaded.status = "under_review"  # awaiting a second review
        # overturned on review: stands valid, credited what was watched
        overturned = s.get(SessionVerdict, world.flagged[other])
        assert overturned and overturned.engine_status == "invalid"
        overturned.status, overturned.reviewed = "valid", True
        honest = list(s.scalars(select(StudySession.id).join(Learner)
                                .where(Learner.id != world.learner[home],
                                       Learner.institution_id == world.inst[home])
                                .order_by(StudySession.started_at)))
        assert len(honest) >= 2
        pending = s.get(SessionVerdict, honest[-2])
        assert pending is not None
        pending.status = pending.engine_status = "pending"
        s.execute(delete(SessionVerdict).where(SessionVerdict.session_id == honest[-1]))

    policy = policy_for(settings)
    today = datetime.now(DISPLAY_TZ).date()
    seen = set()
    with factory() as s:
        for county in (home, other):
            course = s.get(Course, world.course[county])
            assert course is not None
            learners = repo.learners_of_course(s, course.id)
            summed = standings(s, course=course, learners=learners, policy=policy,
                               settings=settings, today=today)
            whole = standings(s, course=course, learners=learners, policy=policy,
                              settings=settings, today=today, summaries=False)
            assert summed == whole
            for (learner, _), st in zip(learners, summed, strict=True):
                alone = standing(s, learner=learner, course=course, policy=policy,
                                 settings=settings, today=today)
                assert [(x.lesson.id, x.result, x.state) for x in st.lessons] == [
                    (x.lesson.id, x.result, x.state) for x in alone.lessons]
                assert st.eligibility == alone.eligibility
                seen |= {x.state.value for x in st.lessons}
            hours = {st.learner.id: st.eligibility.credited_class_hours for st in summed}
            if county == other:  # the overturned sitting credits its lesson
                assert hours[world.learner[other]] > 0
    assert {"valid", "invalid", "under_review", "pending"} <= seen, seen
