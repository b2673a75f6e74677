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
