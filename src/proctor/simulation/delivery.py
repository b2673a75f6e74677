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


class Courier:
    """The platform's uploader, event by event: batches flushed on a timer, network delay,
    loss, retries; or, for a fabricator, everything held for one upload after the fact.

    ``feed`` each event as the player emits it, ``tick`` when time passes (the flush timer),
    ``close`` when the sitting is over; ``take(until)`` hands over what has arrived by then.
    """

    def __init__(self, b: Behaviour, rng: random.Random, *, opened_at: float) -> None:
        self.b, self.rng, self.opened_at = b, rng, opened_at
        drawn = rng.uniform(-600.0, 600.0)  # a constant client clock error
        self.skew = drawn if b.clock_skew_s is None else b.clock_skew_s
        self.batch: list[RawEvent] = []
        self.flush_at = 0.0
        self.sent: list[Delivered] = []

    def client_ts(self, t: float) -> float:
        if self.b.compress_time != 1.0:  # a bot generating a session faster than real time
            t = self.opened_at + (t - self.opened_at) * self.b.compress_time
        return round(t + self.skew, 3)  # RFC 3339 with milliseconds

    def feed(self, e: RawEvent) -> None:
        if self.b.upload_at_end:
            self.batch.append(e)
            return
        if self.batch and e.t >= self.flush_at:
            self.sent.extend(_send(self.batch, self.flush_at, self.rng, self.client_ts))
            self.batch = []
        if e.type == "heartbeat" and self.b.honest_noise and self.rng.random() < 0.03:
            return  # lost
        if not self.batch:  # the platform flushes a few seconds after the first queued event
            self.flush_at = e.t + self.rng.uniform(2.0, 15.0)
        self.batch.append(e)

    def tick(self, now: float) -> None:
        if self.batch and not self.b.upload_at_end and now >= self.flush_at:
            self.sent.extend(_send(self.batch, self.flush_at, self.rng, self.client_ts))
            self.batch = []

    def close(self, closed_at: float) -> None:
        if self.b.upload_at_end:
            arrive = closed_at + self.rng.uniform(1.0, 5.0)
            if self.b.compress_time != 1.0:
                arrive = self.opened_at + (closed_at - self.opened_at) * self.b.compress_time + 2.0
            self.sent.extend(Delivered(e, self.client_ts(e.t), arrive + i * 1e-4)
                             for i, e in enumerate(self.batch))
        elif self.batch:
            self.sent.extend(_send(self.batch, max(self.flush_at, self.batch[-1].t), self.rng,
                                   self.client_ts))
        self.batch = []

    def take(self, until: float = float("inf")) -> list[Delivered]:
        """What has arrived by ``until``, in arrival order (and forget it)."""
        self.sent.sort(key=lambda d: d.server_ts)
        n = next((i for i, d in enumerate(self.sent) if d.server_ts > until), len(self.sent))
        arrived, self.sent = self.sent[:n], self.sent[n:]
        return arrived


def deliver(
    events: Sequence[RawEvent], b: Behaviour, rng: random.Random, *, opened_at: float,
    closed_at: float,
) -> list[Delivered]:
    """Every event of a finished sitting as the service receives it, in arrival order."""
    courier = Courier(b, rng, opened_at=opened_at)
    for e in events:
        courier.feed(e)
    courier.close(closed_at)
    return courier.take()


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
