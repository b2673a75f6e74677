"""Use case: taking a batch of telemetry events (CONTRACT §3), per event, never all-or-nothing.

Each event is validated on its own; valid events of the institution's own sessions are appended
in one bulk insert that ignores ids already stored (the idempotent inbox). The caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from pydantic import TypeAdapter, ValidationError

from proctor.domain.errors import InvalidInput, PayloadTooLarge
from proctor.schemas.telemetry import (
    EVENT_TYPES,
    EventIn,
    FastBatch,
    bad_text,
    extra_problem,
    fast_ts,
    is_session_id,
)
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import study as repo

_FAST = msgspec.json.Decoder(FastBatch)
_ONE = TypeAdapter(EventIn)
_MANY = TypeAdapter(list[EventIn])
_BASE_FIELDS = {"id", "session_id", "seq", "ts", "type", "position", "from", "to", "rate",
                "visible", "focused", "state"}
# Events after which the session is evaluated (lesson.complete, session.end).
TERMINAL_TYPES = frozenset({"lesson.complete", "session.end"})


@dataclass
class IngestResult:
    received: int
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    sessions_to_evaluate: set[str] = field(default_factory=set)


def _reject(result: IngestResult, index: int, raw: Any, fld: str | None, reason: str) -> None:
    event_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    if event_id is not None and (len(event_id) > 64 or bad_text(event_id)):
        event_id = None  # never echo back what can't be valid text
    result.rejected.append({"index": index, "id": event_id, "field": fld, "reason": reason})


def _explain(exc: ValidationError, raw: Any) -> tuple[str | None, str]:
    if not isinstance(raw, dict):
        return None, "each event must be a JSON object"
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"]]
    if loc and loc[0] in EVENT_TYPES:  # the discriminator's tag is not a field name
        loc = loc[1:]
    if err["type"] == "union_tag_invalid":
        got = raw.get("type") if isinstance(raw, dict) else None
        return "type", f"unknown event type {got!r}; expected one of {', '.join(EVENT_TYPES)}"
    if err["type"] == "union_tag_not_found":
        return "type", "missing: every event needs a type"
    name = ".".join(loc) or None
    if name == "from_":
        name = "from"
    msg = err["msg"]
    if err["type"] == "missing":
        msg = "missing"
    return name, f"{name}: {msg}" if name else msg


# An event as ingest stores it: (its index in the batch, its fields by EventIn's attribute
# names, its extra fields or None).
Valid = tuple[int, dict[str, Any], dict[str, Any] | None]


def decode_batch(body: bytes, *, max_events: int) -> list[Valid] | None:
    """The fast path: the events of a body in which every event is valid as FastBatch reads it
    (straight from the bytes, no JSON tree built first); None for any other body, which
    ``ingest_events`` then parses, checks and explains as it always has."""
    try:
        events = _FAST.decode(body).events
    except msgspec.DecodeError:  # malformed, or any event not plainly valid
        return None
    if len(events) > max_events:
        return None
    out: list[Valid] = []
    for i, ev in enumerate(events):
        fields = msgspec.structs.asdict(ev)
        ts = fast_ts(ev.ts)
        if ts is None:
            return None
        fields["ts"] = ts
        fields["type"] = ev.__struct_config__.tag
        out.append((i, fields, None))
    return out


def _validate(raw_events: list[Any], result: IngestResult) -> list[Valid]:
    """The whole batch at once; on any error, event by event to keep the good ones."""
    try:
        return [(i, ev.__dict__, _extra(ev))
                for i, ev in enumerate(_MANY.validate_python(raw_events))]
    except ValidationError:
        pass
    valid = []
    for i, raw in enumerate(raw_events):
        try:
            ev = _ONE.validate_python(raw)
        except ValidationError as exc:
            fld, reason = _explain(exc, raw)
            _reject(result, i, raw, fld, reason)
            continue
        # plain dict access: pydantic's __getattr__ is slow for absent names
        valid.append((i, ev.__dict__, _extra(ev)))
    return valid


def _extra(ev: Any) -> dict[str, Any] | None:
    extra = ev.model_extra
    if not extra:
        return None
    return {k: v for k, v in extra.items() if k not in _BASE_FIELDS} or None


def _row(fields: dict[str, Any], started_day: int, received_at: datetime,
         extra: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "event_key": repo.event_key(fields["session_id"], started_day, fields["id"]),
        "event_id": fields["id"],
        "session_id": fields["session_id"],
        "seq": fields["seq"],
        "type": fields["type"],
        "client_ts": fields["ts"],
        "server_ts": received_at,
        "position": fields.get("position"),
        "from_pos": fields.get("from_"),
        "to_pos": fields.get("to"),
        "rate": fields.get("rate"),
        "visible": fields.get("visible"),
        "focused": fields.get("focused"),
        "state": fields.get("state"),
        "extra": extra,
    }


def ingest_events(uow: UnitOfWork, *, institution_id: int, body: Any, received_at: datetime,
                  max_events: int, decoded: list[Valid] | None = None) -> IngestResult:
    """``body``: the parsed JSON; or ``decoded``, the fast path's events (``decode_batch``)."""
    if decoded is not None:
        result = IngestResult(received=len(decoded))
        return _store(uow, institution_id, decoded, result, received_at)
    if not isinstance(body, dict) or "events" not in body:
        raise InvalidInput('body must be a JSON object {"events": [...]}', field="events")
    raw_events = body["events"]
    if not isinstance(raw_events, list):
        raise InvalidInput("events must be a list", field="events")
    if len(raw_events) > max_events:
        raise PayloadTooLarge(
            f"events: batch has {len(raw_events)} events, at most {max_events} are allowed",
            field="events",
        )
    result = IngestResult(received=len(raw_events))
    return _store(uow, institution_id, _validate(raw_events, result), result, received_at)


def _store(uow: UnitOfWork, institution_id: int, valid: list[Valid], result: IngestResult,
           received_at: datetime) -> IngestResult:
    named = {ev["session_id"] for _, ev, _ in valid}
    owned = repo.owned_sessions(uow.session, institution_id,
                                {sid for sid in named if is_session_id(sid)})
    days = {sid: repo.day_number(o.started_at) for sid, o in owned.items()}
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    in_batch_dupes = 0
    ended: dict[str, datetime] = {}
    for index, ev, extra in valid:
        sid, event_id = ev["session_id"], ev["id"]
        if sid not in owned:
            # Same answer for another institution's session as for none: nothing leaks.
            _reject(result, index, {"id": event_id}, "session_id",
                    f"session_id: unknown session {sid!r}")
            continue
        if extra is not None:
            problem = extra_problem(extra)
            if problem is not None:
                _reject(result, index, {"id": event_id}, problem[0], problem[1])
                continue
        if (sid, event_id) in seen:
            in_batch_dupes += 1
            continue
        seen.add((sid, event_id))
        rows.append(_row(ev, days[sid], received_at, extra))
        if ev["type"] in TERMINAL_TYPES:
            result.sessions_to_evaluate.add(sid)
            if ev["type"] == "session.end":
                # the server's clock, not the client's word (a skewed client clock would move
                # the end of one lesson past the start of the next: LESSON_ORDER)
                ended[sid] = received_at
    new_ids = repo.insert_events(uow.session, rows)
    result.accepted = len(new_ids)
    result.duplicates = len(rows) - len(new_ids) + in_batch_dupes
    new_rows = (rows if len(new_ids) == len(rows)
                else [r for r in rows if (r["session_id"], r["event_id"]) in new_ids])
    if new_rows:
        # ends first (the only row locks ingest waits for, in id order), then the last-seen
        # times, which never wait (docs/scaling.md: no deadlock between concurrent batches)
        repo.end_sessions(uow.session, {sid: at for sid, at in ended.items()
                                        if any(r["session_id"] == sid for r in new_rows)})
        repo.touch_sessions(uow.session, {r["session_id"] for r in new_rows}, received_at)
    # Only new terminal events trigger work (a re-sent batch does not re-evaluate), and so do
    # new events of a session that had already ended: a batch that was late on the network.
    new_terminal = {r["session_id"] for r in new_rows if r["type"] in TERMINAL_TYPES}
    late = {r["session_id"] for r in new_rows if owned[r["session_id"]].status == "ended"}
    result.sessions_to_evaluate = (result.sessions_to_evaluate & new_terminal) | late
    return result
