"""Issue #10 (ingest): every bad value is rejected alone, with a reason; the rest is stored and
every stored session keeps answering (no 500 later)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.factories import Platform, heartbeats, ts


def _post_raw(platform: Platform, events: list[Any]) -> Any:
    # ensure_ascii: lone surrogates and NUL travel as JSON escapes, NaN as the NaN literal
    return platform.api.post("/v1/events", raw=json.dumps({"events": events}).encode())


def _bad(sid: str, i: int, **fields: Any) -> dict[str, Any]:
    event = {"id": f"bad-{i}", "session_id": sid, "seq": 100 + i, "ts": ts(), "type": "play",
             "position": 1.0}
    event.update(fields)
    return event


def _deep(n: int) -> Any:
    value: Any = 1
    for _ in range(n):
        value = [value]
    return value


HOSTILE: list[tuple[str, dict[str, Any], str]] = [
    ("nul in extra text", {"note": "a\x00b"}, "note"),
    ("nul in extra key", {"k\x00": 1}, "'k\\x00'"),
    ("lone surrogate in extra", {"note": "\ud800"}, "note"),
    ("nested too deep", {"tree": _deep(20)}, "tree"),
    ("integer beyond 64 bits", {"big": 2**70}, "big"),
    ("seq 2**40", {"seq": 2**40}, "seq"),
    ("position beyond float", {"position": 10**400}, "position"),
    ("ts after 9999 once in UTC", {"ts": "9999-12-31T23:59:59.000-14:00"}, "ts"),
    ("ts before year 1 once in UTC", {"ts": "0001-01-01T00:00:00.000+14:00"}, "ts"),
    ("ts year 0001", {"ts": "0001-01-01T00:00:00.000+00:00"}, "ts"),
    ("nul in session id", {"session_id": "abc\x00"}, "session_id"),
    ("lone surrogate in id", {"id": "x\udc00"}, "id"),
    ("nul in state", {"type": "focus", "state": "blur\x00"}, "state"),
]


@pytest.mark.parametrize(("case", "fields", "field"), HOSTILE, ids=[c[0] for c in HOSTILE])
def test_a_hostile_value_is_rejected_alone_and_the_batch_stored(
        platform: Platform, case: str, fields: dict[str, Any], field: str) -> None:
    sid = platform.ready_session()
    good = heartbeats(sid, 3)
    r = _post_raw(platform, [good[0], _bad(sid, 1, **fields), *good[1:]])
    assert r.status_code == 207, r.text
    out = r.json()
    assert out["accepted"] == 3
    assert len(out["rejected"]) == 1
    rejected = out["rejected"][0]
    assert rejected["index"] == 1 and rejected["field"] == field, rejected
    assert rejected["reason"]
    # the session answers afterwards, with the good events only
    events = platform.api.get(f"/v1/sessions/{sid}/events")
    assert events.status_code == 200 and len(events.json()["events"]) == 3
    assert platform.api.get(f"/v1/sessions/{sid}/verdict").status_code == 200


def test_extremes_that_can_be_stored_are_kept(platform: Platform) -> None:
    sid = platform.ready_session()
    kept = [_bad(sid, 1, ts="0001-01-02T00:00:00.000+00:00", seq=2**31 - 1),
            _bad(sid, 2, ts="9999-12-30T00:00:00.000+00:00", note="学习中 ok",
                 tree=_deep(6), big=2**62)]
    r = _post_raw(platform, kept)
    assert r.status_code == 200, r.text
    stored = platform.api.get(f"/v1/sessions/{sid}/events").json()["events"]
    assert {e["seq"] for e in stored} == {2**31 - 1, 102}
    assert [e for e in stored if e["seq"] == 102][0]["big"] == 2**62
    assert platform.api.get(f"/v1/sessions/{sid}/verdict").status_code == 200


def test_nan_is_rejected_with_its_event_alone(platform: Platform) -> None:
    sid = platform.ready_session()
    for i, bad in enumerate(({"score": float("nan")}, {"position": float("inf")})):
        r = _post_raw(platform, [*heartbeats(sid, 2, prefix=f"n{i}"), _bad(sid, i, **bad)])
        assert r.status_code == 207, r.text
        assert r.json()["accepted"] == 2 and len(r.json()["rejected"]) == 1
    assert len(platform.api.get(f"/v1/sessions/{sid}/events").json()["events"]) == 4


def test_body_nested_beyond_the_parser_is_a_400(platform: Platform) -> None:
    sid = platform.ready_session()
    body = ('{"events": [' + '[' * 100_000 + ']' * 100_000 + ']}').encode()
    r = platform.api.post("/v1/events", raw=body)
    assert r.status_code == 400, r.text
    assert platform.api.get(f"/v1/sessions/{sid}/events").json()["events"] == []
