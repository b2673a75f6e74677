"""engine.in_flight_until: when a verdict stops waiting for batches still on the network."""

from __future__ import annotations

from proctor.domain.engine import in_flight_until
from proctor.domain.model import Event
from proctor.domain.policy import Policy


def _ev(seq: int, type_: str = "heartbeat", arrived: float = 100.0) -> Event:
    return Event(seq=seq, type=type_, client_ts=arrived - 1, server_ts=arrived)


def test_nothing_to_wait_for_once_every_seq_up_to_session_end_arrived(policy: Policy) -> None:
    events = [_ev(2, arrived=90), _ev(1, "play", 80), _ev(3, "session.end", 95), _ev(2, arrived=99)]
    assert in_flight_until(events, policy) is None
    assert in_flight_until([], policy) is None


def test_a_gap_or_no_session_end_waits_late_telemetry_s_after_the_last_arrival(
        policy: Policy) -> None:
    gap = [_ev(1, "play", 80), _ev(3, "session.end", 95)]
    assert in_flight_until(gap, policy) == 95 + policy.late_telemetry_s
    open_ = [_ev(1, "play", 80), _ev(2, "lesson.complete", 97)]
    assert in_flight_until(open_, policy) == 97 + policy.late_telemetry_s
    first_missing = [_ev(2, arrived=80), _ev(3, "session.end", 95)]
    assert in_flight_until(first_missing, policy) == 95 + policy.late_telemetry_s
    # an event sent after session.end (seq beyond it) means more may follow
    after_end = [_ev(1, "play", 80), _ev(2, "session.end", 95), _ev(3, arrived=96)]
    assert in_flight_until(after_end, policy) == 96 + policy.late_telemetry_s


def test_the_last_seq_counts_as_the_end_when_any_copy_of_it_is_session_end(
        policy: Policy) -> None:
    # two events share the last seq (a re-sent number): found past the first copy
    later_copy = [_ev(1, "play", 80), _ev(2, arrived=90), _ev(2, "session.end", 95)]
    assert in_flight_until(later_copy, policy) is None
    neither = [_ev(1, "play", 80), _ev(2, arrived=90), _ev(2, "pause", 95),
               _ev(1, "session.end", 96)]
    assert in_flight_until(neither, policy) == 96 + policy.late_telemetry_s
