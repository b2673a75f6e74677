"""Events read in bulk as columns (`evaluation.domain_event_columns`, `EventColumns`): the same
events, and the same timeline, as the `Event` objects they stand for."""

from __future__ import annotations

from datetime import UTC, datetime

from proctor.domain.model import Event, EventColumns
from proctor.domain.policy import load_policy
from proctor.domain.timeline import build_timeline, in_seq_order
from proctor.services.evaluation import domain_event_columns

ROWS = [
    (1, "play", 1.5, 1.75, 0.0, None, None, 1.0, None, None, None),
    (2, "heartbeat", 11.5, 11.625, 10.0, None, None, 1.25, True, False, None),
    (3, "seek", 12.0, 12.5, None, 10.0, 300.0, None, None, None, None),
    (4, "visibility", 13.0, 13.0, None, None, None, None, False, None, "hidden"),
]


def _lists(rows: list[tuple[object, ...]]) -> tuple[list[object], ...]:
    return tuple(list(column) for column in zip(*rows, strict=True))


def test_columns_from_unix_seconds_and_datetimes() -> None:
    as_datetimes = [(r[0], r[1], datetime.fromtimestamp(r[2], UTC),  # type: ignore[arg-type]
                     datetime.fromtimestamp(r[3], UTC), *r[4:]) for r in ROWS]  # type: ignore[arg-type]
    expected = [Event(*r) for r in ROWS]  # type: ignore[arg-type]
    assert domain_event_columns(_lists(ROWS)).events() == expected  # type: ignore[arg-type]
    assert domain_event_columns(_lists(as_datetimes)).events() == expected  # type: ignore[arg-type]
    assert EventColumns.of(expected).events() == expected


def test_seq_order_keeps_the_first_received_copy() -> None:
    events = [Event(*r) for r in ROWS]  # type: ignore[arg-type]
    late_copy = Event(2, "heartbeat", 11.5, 20.0, 99.0)
    early_copy = Event(3, "seek", 12.0, 12.25, None, 10.0, 20.0)
    shuffled = [events[3], late_copy, events[1], events[0], events[2], early_copy]
    kept = in_seq_order(shuffled).events()
    assert kept == [events[0], events[1], early_copy, events[3]]


def test_same_timeline_from_columns_and_objects() -> None:
    policy = load_policy("henan-2021")
    events = [Event(*r) for r in ROWS]  # type: ignore[arg-type]
    assert build_timeline(EventColumns.of(events), policy) == build_timeline(events, policy)
