"""POST /v1/events' fast path (msgspec, services/ingest.decode_batch) against EventIn (pydantic).

What the fast path accepts, EventIn must accept with the same values; anything else must fall
back to EventIn (None), which then answers as it always has (tests/api/test_events.py,
test_ingest_hostile.py hold those answers)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from proctor.services.ingest import IngestResult, _validate, decode_batch

SID = str(uuid.UUID(int=7))
BASE = {"id": "e-1", "session_id": SID, "seq": 1, "ts": "2026-11-02T08:00:00.250+08:00"}
VALID: list[dict[str, Any]] = [
    {**BASE, "type": "play", "position": 1.5},
    {**BASE, "type": "pause", "position": 0},
    {**BASE, "type": "lesson.complete", "position": 604800},
    {**BASE, "type": "seek", "from": 10.0, "to": 2},
    {**BASE, "type": "ratechange", "rate": 16},
    {**BASE, "type": "heartbeat", "position": 3.0, "rate": 1.0, "visible": True,
     "focused": False},
    {**BASE, "type": "visibility", "state": "hidden"},
    {**BASE, "type": "focus", "state": "blur"},
    {**BASE, "type": "session.end"},
]

# values a platform might send, good and bad, for any field
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=70),
    st.sampled_from(["1.5", "0", "true", "play", "hidden", "blur", "e-1\n", "é", SID,
                     "2026-11-02T08:00:00Z", "2026-11-02 08:00:00Z", "2026-11-02T08:00:00",
                     "2026-11-02T08:00:00.1234567Z", "2026-11-02t08:00:00z", "0000-01-01T00:00:00Z",
                     "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+08:00",
                     "2026-02-30T00:00:00Z", "2026-11-02T24:00:00Z", "2026-11-02T08:00:60Z",
                     "2026-11-02T08:00:00+23:59", "2026-11-02T08:00:00.5-14:00"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(),
                                                         max_size=2),
)
FIELDS = ["id", "session_id", "seq", "ts", "type", "position", "from", "to", "rate", "visible",
          "focused", "state", "note"]


def _both(events: list[Any]) -> tuple[Any, IngestResult, Any]:
    body = json.dumps({"events": events}).encode()
    fast = decode_batch(body, max_events=1000)
    result = IngestResult(received=len(events))
    slow = _validate(json.loads(body)["events"], result)
    return fast, result, slow


def _same(fast: list[Any], slow: list[Any]) -> None:
    assert len(fast) == len(slow)
    for f, s in zip(fast, slow, strict=True):
        assert f == s
        index, sid, event_id, seq, type_, ts, values, extra = f
        for mine, theirs in zip((index, sid, event_id, seq, type_, *values, extra),
                                (*s[:5], *s[6], s[7]), strict=True):
            assert type(mine) is type(theirs), (mine, theirs)
        assert ts.utcoffset() == s[5].utcoffset()


def test_every_event_type_takes_the_fast_path_with_eventins_values() -> None:
    fast, result, slow = _both(VALID)
    assert fast is not None and result.rejected == []
    _same(fast, slow)


def test_what_the_fast_path_does_not_read_plainly_goes_to_eventin() -> None:
    for change in ({"note": "kept as evidence"}, {"position": "1.5"}, {"seq": 1.0},
                   {"ts": "2026-11-02t08:00:00z"}, {"ts": "2026-11-02T08:00:00.1234567Z"},
                   {"id": "e-1\n"}, {"visible": 1}, {"type": "jump"},
                   # a batch's times are matched at once, joined by newlines
                   {"ts": "2026-11-02T08:00:00Z\n2026-11-02T08:00:01Z"},
                   {"ts": "2026-11-02T08:00:00Z\n"}, {"ts": "\n2026-11-02T08:00:00Z"},
                   {"ts": "\u0662026-11-02T08:00:00Z"}, {"ts": ""}):
        assert decode_batch(json.dumps({"events": [{**VALID[5], **change}]}).encode(),
                            max_events=1000) is None, change
    assert decode_batch(b'{"events": [{"id": "\\ud800"}]}', max_events=1000) is None
    assert decode_batch(json.dumps({"events": VALID * 2}).encode(), max_events=10) is None
    # one event's time in another form sends the whole batch to EventIn
    late = [*VALID, {**VALID[5], "ts": "2026-11-02 08:00:00Z"}, *VALID]
    assert decode_batch(json.dumps({"events": late}).encode(), max_events=1000) is None


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(VALID), name=st.sampled_from(FIELDS), value=ANY_VALUE,
       drop=st.booleans())
@example(base=VALID[0], name="ts", value="2026-11-02T08:00:00.000001-00:00", drop=False)
@example(base=VALID[3], name="from", value=2**53 + 1, drop=False)
def test_fast_path_never_accepts_what_eventin_would_not(base: dict[str, Any], name: str,
                                                        value: Any, drop: bool) -> None:
    event = dict(base)
    if drop:
        event.pop(name, None)
    else:
        event[name] = value
    fast, result, slow = _both([event, VALID[6]])
    if fast is None:
        return
    assert result.rejected == []
    _same(fast, slow)
