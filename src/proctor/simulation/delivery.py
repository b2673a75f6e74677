"""How a player's events reach the service: the client's clock skew, millisecond timestamps,
batched uploads with network delay, lost heartbeats, retried (duplicated) batches, delayed
batches arriving out of order; or, for a fabricator, one upload after the fact."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from proctor.simulation.learner import RawEvent
from proctor.simulation.scenarios import Behaviour


@dataclass(frozen=True, slots=True)
class Delivered:
    """One event as the service receives it: the client's timestamp and the arrival time."""

    raw: RawEvent
    client_ts: float
    server_ts: float


def deliver(
    events: Sequence[RawEvent], b: Behaviour, rng: random.Random, *, opened_at: float,
    closed_at: float,
) -> list[Delivered]:
    skew = rng.uniform(-600.0, 600.0)  # a constant client clock error

    def client_ts(t: float) -> float:
        if b.compress_time != 1.0:  # a bot generating a session faster than real time
            t = opened_at + (t - opened_at) * b.compress_time
        return round(t + skew, 3)  # RFC 3339 with milliseconds

    if b.upload_at_end:
        arrive = closed_at + rng.uniform(1.0, 5.0)
        if b.compress_time != 1.0:
            arrive = opened_at + (closed_at - opened_at) * b.compress_time + 2.0
        return [Delivered(e, client_ts(e.t), arrive + i * 1e-4) for i, e in enumerate(events)]

    out: list[Delivered] = []
    batch: list[RawEvent] = []
    flush_at = 0.0
    for e in events:
        if batch and e.t >= flush_at:
            out.extend(_send(batch, flush_at, rng, client_ts))
            batch = []
        if e.type == "heartbeat" and b.honest_noise and rng.random() < 0.03:
            continue  # lost
        if not batch:  # the platform flushes a few seconds after the first queued event
            flush_at = e.t + rng.uniform(2.0, 15.0)
        batch.append(e)
    if batch:
        out.extend(_send(batch, max(flush_at, batch[-1].t), rng, client_ts))
    out.sort(key=lambda d: d.server_ts)  # arrival order
    return out


def _send(batch: list[RawEvent], at: float, rng: random.Random,
          client_ts: Callable[[float], float]) -> list[Delivered]:
    delay = rng.uniform(0.05, 1.5)
    if rng.random() < 0.02:
        delay += rng.uniform(5.0, 60.0)  # a slow network, the batch arrives after later ones
    sent = [Delivered(e, client_ts(e.t), at + delay) for e in batch]
    if rng.random() < 0.02:  # the platform retried a batch it thought was lost
        sent += [Delivered(d.raw, d.client_ts, d.server_ts + rng.uniform(1.0, 30.0)) for d in sent]
    elif batch and rng.random() < 0.05:  # one event sent twice
        d = rng.choice(sent)
        sent.append(Delivered(d.raw, d.client_ts, d.server_ts + rng.uniform(0.1, 5.0)))
    return sent
