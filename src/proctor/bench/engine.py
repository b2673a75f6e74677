"""Bench section: rule-engine throughput (``engine_events_per_s``) on one core.

The input is a realistic mix: one 40-class-hour course's worth of simulated sittings (10 s
heartbeats, ~15k events: honest learners with noise plus a share of each cheat), built
before timing. Each run evaluates every sitting once; the figure is the median of runs.

Beside it, in the same run, a process running the engine's Python sources
(``PROCTOR_PURE_PYTHON=1``) on the same mix: ``engine_compiled_speedup`` is what the C
compiled by mypyc (setup.py) gains, and both must give the very same verdicts."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys

import proctor
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


def measure() -> tuple[float, list[float], str, int, int]:
    """The median rate and runs over the mix, the md5 of its verdicts, sittings and events."""
    policy = load_policy("henan-2021")
    inputs = build_mix()
    events = sum(len(s.events) for s in inputs)

    def once() -> int:
        for s in inputs:
            evaluate(s, policy)
        return events

    digest = hashlib.md5(json.dumps([evaluate(s, policy).to_dict() for s in inputs],
                                    sort_keys=True).encode()).hexdigest()  # and a warm-up
    rate, rates = median_rate(once, repeats=REPEATS)
    return rate, rates, digest, len(inputs), events


def run() -> Section:
    rate, rates, digest, sittings, events = measure()
    pure = json.loads(subprocess.run(
        [sys.executable, "-m", "proctor.bench.engine"], capture_output=True, text=True, check=True,
        env={**os.environ, "PROCTOR_PURE_PYTHON": "1"}).stdout)
    assert not pure["compiled"] and pure["md5"] == digest, (pure, digest)  # the same verdicts
    speedup = rate / pure["rate"]
    verdict = "meets" if rate >= TARGET else "misses"
    form = "compiled by mypyc (setup.py)" if proctor.COMPILED_ENGINE else "its Python sources"
    md = (
        f"Rule engine on one core: {sittings} simulated sittings, {events:,} events "
        f"(honest with noise, one in five a cheat), every rule run on each; the engine as "
        f"{form}, and in the same run as its Python sources (`PROCTOR_PURE_PYTHON=1`, "
        f"another process), both giving the very same verdicts (md5 `{digest[:12]}`).\n\n"
        f"| figure | value |\n|---|---|\n"
        f"| `engine_events_per_s` (median of {REPEATS}) | {rate:,.0f} |\n"
        f"| runs (events/s) | {', '.join(f'{r:,.0f}' for r in rates)} |\n"
        f"| `engine_events_per_s_pure` (the sources, median of {REPEATS}) | {pure['rate']:,.0f} |\n"
        f"| `engine_compiled_speedup` | {speedup:.2f}× |\n"
        f"| target | ≥ {TARGET:,} ({verdict} it) |\n"
    )
    return Section("Rule engine", {"engine_events_per_s": round(rate),
                                   "engine_events_per_s_pure": round(pure["rate"]),
                                   "engine_compiled": int(proctor.COMPILED_ENGINE),
                                   "engine_compiled_speedup": round(speedup, 2)}, md)


if __name__ == "__main__":  # one measurement, as JSON (the pure-Python run of ``run``)
    _rate, _runs, _digest, _n, _events = measure()
    print(json.dumps({"rate": _rate, "md5": _digest, "compiled": proctor.COMPILED_ENGINE}))
