"""The multi-institution matrix: every cheat caught by its rule, no honest control flagged."""

from __future__ import annotations

from proctor.domain.county.signals import RULES
from proctor.simulation.county import run_county_simulation


def test_every_signal_is_caught_and_no_honest_control_flagged(database_url: str) -> None:
    sim = run_county_simulation(database_url=database_url)
    print(sim.markdown())
    assert sim.ok, sim.markdown()
    caught = {rule for row in sim.rows if not row.honest for rule in row.fired}
    assert caught == set(RULES), sorted(set(RULES) - caught)  # every rule exercised
    assert all(not row.fired for row in sim.rows if row.honest), sim.markdown()
    # The per-session job already caught every session-based cheat before the day's run.
    assert all(set(row.expected) <= set(row.by_session_job) for row in sim.rows
               if not row.honest), sim.markdown()
