"""An append-only audit log whose entries are hash-chained, so any edit is detectable.

Each entry's hash is SHA-256 over the canonical JSON of the entry together with the previous
entry's hash (the first entry chains to `GENESIS`). Editing an entry changes its hash; deleting
or reordering entries breaks the sequence numbers and the links; truncating the tail is found by
comparing the last hash with a head kept elsewhere (`expected_head`), because nothing inside a
chain can tell that entries after its end are missing.

Pure: the time of an entry is given, not read; storage keeps (entry fields, prev_hash, hash).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int  # 1, 2, 3 ... without gaps
    at: datetime  # timezone-aware
    actor: str  # who: "user:42", "system", "platform:key-id"
    action: str  # what: "review.overturn", "user.login", ...
    subject: str  # on what: "session:abc", "learner:L1"
    payload: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("audit entry time must be timezone-aware")
        if self.seq < 1:
            raise ValueError("audit entry seq starts at 1")
        # A read-only copy: the caller's dict can't change a sealed entry behind its back.
        object.__setattr__(self, "payload", MappingProxyType(dict(self.payload)))


@dataclass(frozen=True, slots=True)
class SealedEntry:
    """An entry as stored: with the hash it chains to and its own hash."""

    entry: AuditEntry
    prev_hash: str
    hash: str

    @property
    def seq(self) -> int:
        return self.entry.seq


def _plain(value: Any) -> Any:
    """JSON-ready copy of a payload value; refuses types whose text form would be ambiguous."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("audit payload floats must be finite")
        return value
    raise TypeError(
        f"audit payload values must be JSON types, got {type(value).__name__}; "
        "convert dates and decimals to strings first"
    )


def canonical_json(prev_hash: str, entry: AuditEntry) -> bytes:
    """The exact bytes that are hashed: sorted keys, no whitespace, UTF-8, UTC time."""
    at = entry.at.astimezone(UTC).isoformat(timespec="microseconds")
    document = {
        "prev": prev_hash,
        "seq": entry.seq,
        "at": at,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "payload": _plain(entry.payload),
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256(canonical_json(prev_hash, entry)).hexdigest()


def seal(entry: AuditEntry, prev: SealedEntry | None) -> SealedEntry:
    """Append `entry` after `prev` (None for the first entry); refuses a wrong seq."""
    expected_seq = 1 if prev is None else prev.seq + 1
    if entry.seq != expected_seq:
        raise ValueError(f"next audit seq must be {expected_seq}, got {entry.seq}")
    prev_hash = GENESIS if prev is None else prev.hash
    return SealedEntry(entry=entry, prev_hash=prev_hash, hash=chain_hash(prev_hash, entry))


def verify_chain(entries: Sequence[SealedEntry], *, expected_head: str | None = None) -> int | None:
    """The seq of the first entry that breaks the chain, or None when the chain is intact.

    `entries` must be in the stored order (by seq). With `expected_head` (the last hash as kept
    outside the table), a truncated tail is reported as the first missing seq.
    """
    prev_hash, expected_seq = GENESIS, 1
    for sealed in entries:
        if (
            sealed.entry.seq != expected_seq
            or sealed.prev_hash != prev_hash
            or sealed.hash != chain_hash(prev_hash, sealed.entry)
        ):
            return expected_seq
        prev_hash, expected_seq = sealed.hash, expected_seq + 1
    if expected_head is not None and prev_hash != expected_head:
        return expected_seq
    return None
