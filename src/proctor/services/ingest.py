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
    FAST_ID_CHARS,
    FAST_TYPE,
    EventIn,
    EventValues,
    FastBatch,
    bad_text,
    event_values,
    extra_problem,
    fast_times,
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


# A valid event as ingest checks and stores it: (its index in the batch, session id, event id,
# seq, type, client time, its values (schemas.telemetry.EventValues), its extra fields or None).
Valid = tuple[int, str, str, int, str, datetime, EventValues, dict[str, Any] | None]


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
    times = fast_times([ev.ts for ev in events])
    if times is None:
        return None
    out: list[Valid] = []
    append, type_of = out.append, FAST_TYPE
    for i, ev in enumerate(events):
        if ev.id.strip(FAST_ID_CHARS):
            return None
        append((i, ev.session_id, ev.id, ev.seq, type_of[type(ev)], times[i], ev.values(), None))
    return out


def _validate(raw_events: list[Any], result: IngestResult) -> list[Valid]:
    """The whole batch at once; on any error, event by event to keep the good ones."""
    try:
        return [_valid(i, ev) for i, ev in enumerate(_MANY.validate_python(raw_events))]
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
        valid.append(_valid(i, ev))
    return valid


def _valid(index: int, ev: Any) -> Valid:
    fields = ev.__dict__  # plain dict access: pydantic's __getattr__ is slow for absent names
    return (index, fields["session_id"], fields["id"], fields["seq"], fields["type"],
            fields["ts"], event_values(fields), _extra(ev))


def _extra(ev: Any) -> dict[str, Any] | None:
    extra = ev.model_extra
    if not extra:
        return None
    return {k: v for k, v in extra.items() if k not in _BASE_FIELDS} or None


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
    named = {ev[1] for ev in valid}
    owned = repo.owned_sessions(uow.session, institution_id,
                                {sid for sid in named if is_session_id(sid)})
    kept: list[repo.NewEvent] = []
    seen: set[tuple[str, str]] = set()
    in_batch_dupes = 0
    for index, sid, event_id, seq, type_, ts, values, extra in valid:
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
        kept.append((sid, event_id, seq, type_, ts, received_at, values, extra))
    days = {sid: repo.day_number(o.started_at) for sid, o in owned.items()}
    new_at = repo.insert_events(uow.session, kept, days)
    new = kept if len(new_at) == len(kept) else [kept[i] for i in new_at]
    result.accepted = len(new)
    result.duplicates = len(kept) - len(new) + in_batch_dupes
    new_sessions = {ev[0] for ev in new}
    # Only new terminal events trigger work (a re-sent batch does not re-evaluate), and so do
    # new events of a session that had already ended: a batch that was late on the network.
    new_terminal = {ev[0] for ev in new if ev[3] in TERMINAL_TYPES}
    late = {sid for sid in new_sessions if owned[sid].status == "ended"}
    result.sessions_to_evaluate = new_terminal | late
    if new:
        # ends first (the only row locks ingest waits for, in id order), then the last-seen
        # times, which never wait (docs/scaling.md: no deadlock between concurrent batches).
        # The end is the server's clock, not the client's word (a skewed client clock would
        # move the end of one lesson past the start of the next: LESSON_ORDER).
        repo.end_sessions(uow.session, {ev[0]: received_at for ev in new
                                        if ev[3] == "session.end"})
        repo.touch_sessions(uow.session, new_sessions, received_at)
    return result
