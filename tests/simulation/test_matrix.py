"""The simulator's confusion matrix: no honest sitting flagged, every cheat caught by its rule."""

from __future__ import annotations

import random

from proctor.domain.policy import load_policy
from proctor.simulation.engine_driver import run_simulation, simulate_one
from proctor.simulation.report import matrix, to_markdown
from proctor.simulation.scenarios import CHEATS, SCENARIOS

POLICY = load_policy("henan-2021")


def test_matrix_zero_false_positives_every_cheat_caught() -> None:
    rows = matrix(run_simulation(honest=300, cheats=2, seed=11, policy=POLICY))
    by_name = {r.scenario: r for r in rows}
    honest = by_name["honest"]
    assert honest.n == 300
    assert honest.invalid == 0, to_markdown(rows)
    assert honest.pending == 0, to_markdown(rows)
    missed = [r.scenario for r in rows if not r.honest and not r.ok]
    assert not missed, to_markdown(rows)
    assert {b.name for b in CHEATS} <= by_name.keys()


def test_runs_are_reproducible() -> None:
    a = simulate_one(SCENARIOS["honest"], 0, POLICY, random.Random(5))
    b = simulate_one(SCENARIOS["honest"], 0, POLICY, random.Random(5))
    assert a.verdict.to_dict() == b.verdict.to_dict()
    assert a.events > 150


def test_honest_sittings_earn_their_time() -> None:
    results = run_simulation(honest=20, cheats=0, seed=3, policy=POLICY)
    for r in results:
        v = r.verdict
        assert v.status == "valid"
        assert v.completed
        assert 0 < v.credited_seconds <= v.played_seconds
