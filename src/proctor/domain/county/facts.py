"""What the county keeps of a session's telemetry: heartbeat jitter, a sequence digest, the net.

Pure: the service hands in the session's events as values.
"""

from __future__ import annotations

import hashlib
import ipaddress
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

HEARTBEAT_MAX_GAP_S = 15.0  # CONTRACT §3: heartbeats at most 15 s apart; longer gaps are pauses


@dataclass(frozen=True, slots=True)
class EventValue:
    seq: int
    type: str
    t: float  # client time, unix seconds
    position: float | None = None


@dataclass(frozen=True, slots=True)
class TelemetryStats:
    heartbeats: int
    heartbeat_jitter_ms: float | None
    sequence_digest: str | None
    events: int


def telemetry_stats(events: Sequence[EventValue]) -> TelemetryStats:
    """Jitter = standard deviation of the intervals between consecutive heartbeats (ms); the
    digest covers every event's type, time since the first event and position, to 0.1 s."""
    ordered = sorted(events, key=lambda e: (e.seq, e.t))
    beats = [e.t for e in ordered if e.type == "heartbeat"]
    gaps = [b - a for a, b in zip(beats, beats[1:], strict=False) if 0 < b - a <= HEARTBEAT_MAX_GAP_S]
    jitter = statistics.pstdev(gaps) * 1000.0 if len(gaps) >= 2 else None
    digest = None
    if ordered:
        t0 = ordered[0].t
        text = ";".join(f"{e.type}@{e.t - t0:.1f}" + (f":{e.position:.1f}" if e.position is not None
                                                      else "") for e in ordered)
        digest = hashlib.sha256(text.encode()).hexdigest()
    return TelemetryStats(len(beats), jitter, digest, len(ordered))


def network_of(ip: str | None) -> str | None:
    """The /24 of an IPv4 address ("10.1.2"), the /48 of an IPv6 one; None when not an address."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv4Address):
        return ".".join(str(addr).split(".")[:3])
    return str(ipaddress.ip_network(f"{addr}/48", strict=False).network_address)
