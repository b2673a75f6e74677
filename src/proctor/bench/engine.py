"""Bench section: rule-engine throughput (``engine_events_per_s``) on one core.

The input is a realistic mix: one 40-class-hour course's worth of simulated sittings (10 s
heartbeats, ~15k events: honest learners with noise plus a share of each cheat), built
before timing. Each run evaluates every sitting once; the figure is the median of runs."""

from __future__ import annotations

import random

from proctor.bench import Section, median_rate
from proctor.domain.engine import evaluate
from proctor.domain.model import SessionInput
from proctor.domain.policy import load_policy
from proctor.simulation.engine_driver import session_input_for
from proctor.simulation.scenarios import CHEATS, HONEST

TARGET = 300_000
REPEATS = 7


def build_mix(seed: int = 42, target_events: int = 15_000) -> list[SessionInput]:
    policy = load_policy("henan-2021")
    rng = random.Random(seed)
    inputs: list[SessionInput] = []
    total = 0
    i = 0
    while total < target_events:
        b = CHEATS[i % len(CHEATS)] if i % 5 == 4 else HONEST
        session = session_input_for(b, i, policy, rng)
        inputs.append(session)
        total += len(session.events)
        i += 1
    return inputs


def run() -> Section:
    policy = load_policy("henan-2021")
    inputs = build_mix()
    events = sum(len(s.events) for s in inputs)

    def once() -> int:
        for s in inputs:
            evaluate(s, policy)
        return events

    once()  # warm up
    rate, rates = median_rate(once, repeats=REPEATS)
    verdict = "meets" if rate >= TARGET else "misses"
    md = (
        f"Rule engine on one core: {len(inputs)} simulated sittings, {events:,} events "
        f"(honest with noise, one in five a cheat), every rule run on each.\n\n"
        f"| figure | value |\n|---|---|\n"
        f"| `engine_events_per_s` (median of {REPEATS}) | {rate:,.0f} |\n"
        f"| runs (events/s) | {', '.join(f'{r:,.0f}' for r in rates)} |\n"
        f"| target | ≥ {TARGET:,} ({verdict} it) |\n"
    )
    return Section("Rule engine", {"engine_events_per_s": round(rate)}, md)
