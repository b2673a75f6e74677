"""`evaluation.fast_event`: the same Event as the dataclass's own constructor."""

from __future__ import annotations

import dataclasses

import pytest

from proctor.domain.model import Event
from proctor.services.evaluation import domain_events, fast_event

ROWS = [
    (1, "play", 1.5, 1.75, 0.0, None, None, 1.0, None, None, None),
    (2, "heartbeat", 11.5, 11.625, 10.0, None, None, 1.25, True, False, None),
    (3, "seek", 12.0, 12.5, None, 10.0, 300.0, None, None, None, None),
    (4, "visibility", 13.0, 13.0, None, None, None, None, False, None, "hidden"),
]


@pytest.mark.parametrize("row", ROWS)
def test_fast_event_is_the_same_event(row: tuple[object, ...]) -> None:
    fast, plain = fast_event(*row), Event(*row)  # type: ignore[arg-type]
    assert fast == plain and hash(fast) == hash(plain)
    assert dataclasses.astuple(fast) == row
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.seq = 9  # type: ignore[misc]


def test_domain_events_from_unix_seconds_and_datetimes() -> None:
    from datetime import UTC, datetime

    as_datetimes = [(r[0], r[1], datetime.fromtimestamp(r[2], UTC),  # type: ignore[arg-type]
                     datetime.fromtimestamp(r[3], UTC), *r[4:]) for r in ROWS]  # type: ignore[arg-type]
    expected = [Event(*r) for r in ROWS]  # type: ignore[arg-type]
    assert domain_events(ROWS) == expected
    assert domain_events(as_datetimes) == expected
