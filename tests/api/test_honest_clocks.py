"""Honest clocks (issue 10, item 7): answers are judged by the server's receive time; the
client's clock, however wrong, is evidence only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.sitting import FakeClock, Sitting, install_clock
from tests.api.test_challenges_verdicts import DURATION, _setup
from tests.factories import Platform


@pytest.fixture
def clock(app_client: TestClient) -> FakeClock:
    return install_clock(app_client)


@pytest.mark.parametrize("skew_s", [420.0, 600.0, -600.0])
def test_a_learner_whose_clock_is_minutes_off_passes_every_challenge(
        platform: Platform, app_client: TestClient, clock: FakeClock, skew_s: float) -> None:
    """Every field the client sends (event ts, answered_at) carries the skew."""
    _setup(platform)
    s = Sitting.open(platform, app_client, clock, skew_s=skew_s)
    s.start()
    s.finish(DURATION)
    v = s.verdict()
    assert v["status"] == "valid", v


def test_a_resumed_sitting_draws_its_photo_within_what_is_left(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    """Issue 10: the second sitting of a lesson draws its photo over the part still to study,
    not the whole lesson (where it may fall past the end and leave the lesson incomplete)."""
    from sqlalchemy import select

    from proctor.services.challenges import draw_plan, plan_from_json
    from proctor.services.policies import policy_for
    from proctor.storage.db import unit_of_work
    from proctor.storage.tables import StudySession

    duration, studied = 2400.0, 1800.0
    _setup(platform, lessons=1, duration=duration, class_hours=1.0)
    first = Sitting.open(platform, app_client, clock)
    first.start()
    first.play(studied, step=20)
    first.event("pause", position=first.pos)
    clock.advance(2)
    first.event("session.end")
    clock.advance(600)
    second = Sitting.open(platform, app_client, clock)
    app = app_client.app
    policy = policy_for(app.state.settings)  # type: ignore[attr-defined]
    left = duration - first.pos
    drawn = []
    with unit_of_work(app.state.session_factory) as uow:  # type: ignore[attr-defined]
        study = uow.session.scalar(select(StudySession).where(
            StudySession.id == second.session_id))
        assert study is not None
        for _ in range(20):  # each draw is random: twenty of them, all within what is left
            draw_plan(uow, study, policy)
            plan = plan_from_json(study.challenge_plan or {})
            drawn.append(min(m.at_playback_s for m in plan.moments if m.kind == "photo"))
    assert max(drawn) <= left - policy.photo_edge_margin_s + 1e-6, (left, drawn)
