"""Nothing lost between the database and the broker (issue 10, item 2): work the broker lost
is rebuilt from database state by the reconciler job, idempotently; two first evaluations of
one session never race on the verdict's primary key."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from proctor.config import Settings
from proctor.services.evaluation import evaluate_session
from proctor.services.policies import policy_for
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import SessionVerdict
from proctor.workers import celery_app as celery_module
from proctor.workers.reconcile_tasks import reconcile_task
from tests.api.sitting import FakeClock, Sitting, install_clock
from tests.api.test_challenges_verdicts import DURATION, _setup
from tests.factories import Platform


@pytest.fixture
def clock(app_client: TestClient) -> FakeClock:
    return install_clock(app_client)


def _verdicts(settings: Settings) -> int:
    with session_factory(engine_for(settings.database_url))() as s:
        return int(s.scalar(select(func.count()).select_from(SessionVerdict)) or 0)


def test_an_ended_session_whose_evaluation_the_broker_lost_is_judged_by_the_reconciler(
        settings: Settings, platform: Platform, app_client: TestClient,
        clock: FakeClock) -> None:
    celery_module.configure(settings)
    _setup(platform)
    lost: list[str] = []
    # the broker loses every evaluation asked for (a Redis restart, a worker killed after
    # session.end): the API's enqueue hook is where the task would have gone
    app_client.app.state.on_sessions_to_evaluate = [
        lambda uow, ids, now: lost.extend(sorted(ids))]
    s = Sitting.open(platform, app_client, clock)
    s.start()
    s.finish(DURATION)
    assert lost and _verdicts(settings) == 0
    assert s.verdict()["pending_reasons"] == ["not evaluated yet"]

    clock.advance(60)  # within the grace: a live worker may still be on it
    assert reconcile_task(clock.now.isoformat())["sessions"] == 0
    clock.advance(120)
    assert reconcile_task(clock.now.isoformat())["sessions"] == 1
    v = s.verdict()
    assert v["status"] == "valid", v
    # idempotent: judged once, nothing owed any more
    assert reconcile_task((clock.now + timedelta(minutes=5)).isoformat())["sessions"] == 0
    assert _verdicts(settings) == 1


@pytest.mark.postgres
def test_two_first_evaluations_of_one_session_do_not_race_on_the_primary_key(
        settings: Settings, platform: Platform, app_client: TestClient,
        clock: FakeClock) -> None:
    if settings.is_sqlite:
        pytest.skip("SQLite serialises writers itself; the race is PostgreSQL's")
    _setup(platform)
    app_client.app.state.on_sessions_to_evaluate = []
    s = Sitting.open(platform, app_client, clock)
    s.start()
    s.finish(DURATION)
    factory = session_factory(engine_for(settings.database_url))
    policy = policy_for(settings)
    errors: list[BaseException] = []
    with unit_of_work(factory) as first:
        evaluate_session(first, session_id=s.session_id,
                         policy=policy, now=clock.now)

        def second() -> None:
            try:
                with unit_of_work(factory) as uow:
                    evaluate_session(uow, session_id=s.session_id, policy=policy, now=clock.now)
            except BaseException as exc:  # the loser of the race used to get IntegrityError
                errors.append(exc)

        other = threading.Thread(target=second)
        other.start()
        other.join(timeout=2)  # it waits on the first one's row (no timing asserted)
    other.join(timeout=60)
    assert not other.is_alive() and errors == []
    with factory() as db:
        row = db.get(SessionVerdict, s.session_id)
        assert row is not None and row.revision == 2


def test_the_reconcilers_grace_is_a_setting(settings: Settings, platform: Platform,
                                            app_client: TestClient, clock: FakeClock) -> None:
    quick = settings.model_copy(update={"reconcile_grace_s": 5.0})
    celery_module.configure(quick)
    _setup(platform)
    app_client.app.state.on_sessions_to_evaluate = [lambda uow, ids, now: None]  # all lost
    s = Sitting.open(platform, app_client, clock)
    s.start()
    s.finish(DURATION)
    clock.advance(10)  # past a 5 s grace, well within the default 120 s
    from proctor.workers.dispatch import running_with

    with running_with(quick):
        assert reconcile_task(clock.now.isoformat())["sessions"] == 1
