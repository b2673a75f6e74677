from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from proctor.domain.audit import (
    GENESIS,
    AuditEntry,
    SealedEntry,
    chain_hash,
    seal,
    verify_chain,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
ACTIONS = ["user.login", "review.confirm", "review.overturn", "export.roster", "callback.retry"]


def build_chain(n: int = 6) -> list[SealedEntry]:
    chain: list[SealedEntry] = []
    for i in range(1, n + 1):
        entry = AuditEntry(
            seq=i,
            at=T0 + timedelta(minutes=i),
            actor=f"user:{i % 2 + 1}",
            action=ACTIONS[i % len(ACTIONS)],
            subject=f"session:S{i}",
            payload={"reason": f"理由 {i}", "status": {"from": "invalid", "to": "valid"}},
        )
        chain.append(seal(entry, chain[-1] if chain else None))
    return chain


def test_intact_chain_verifies() -> None:
    chain = build_chain()
    assert chain[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(chain, chain[1:], strict=False))
    assert verify_chain(chain) is None
    assert verify_chain(chain, expected_head=chain[-1].hash) is None
    assert verify_chain([]) is None


def test_hash_is_stable_across_timezones_and_key_order() -> None:
    a = AuditEntry(1, T0, "u", "a", "s", {"x": 1, "y": [1, "二"]})
    b = AuditEntry(
        1, T0.astimezone(timezone(timedelta(hours=8))), "u", "a", "s", {"y": [1, "二"], "x": 1}
    )
    assert chain_hash(GENESIS, a) == chain_hash(GENESIS, b)
    assert chain_hash(GENESIS, a) != chain_hash("1" * 64, a)


def _edit(field: str, value: object) -> Callable[[AuditEntry], AuditEntry]:
    return lambda e: dataclasses.replace(e, **{field: value})


@pytest.mark.parametrize(
    "change",
    [
        _edit("actor", "user:99"),
        _edit("action", "review.confirm_invalid"),
        _edit("subject", "session:OTHER"),
        _edit("at", T0 + timedelta(days=1)),
        _edit("payload", {"reason": "改过的理由", "status": {"from": "invalid", "to": "valid"}}),
    ],
    ids=["actor", "action", "subject", "at", "payload"],
)
@pytest.mark.parametrize("index", range(6))
def test_editing_any_entry_is_detected(
    change: Callable[[AuditEntry], AuditEntry], index: int
) -> None:
    chain = build_chain()
    tampered = dataclasses.replace(chain[index], entry=change(chain[index].entry))
    chain[index] = tampered
    assert verify_chain(chain) == index + 1


@pytest.mark.parametrize("index", range(6))
def test_editing_and_rehashing_one_entry_breaks_the_next_link(index: int) -> None:
    chain = build_chain()
    entry = dataclasses.replace(chain[index].entry, actor="forger")
    chain[index] = SealedEntry(
        entry, chain[index].prev_hash, chain_hash(chain[index].prev_hash, entry)
    )
    broken = verify_chain(chain, expected_head=build_chain()[-1].hash)
    # the rehashed entry looks fine by itself; its successor (or the kept head) exposes it
    assert broken == index + 2


def test_rewriting_the_whole_tail_is_caught_by_the_kept_head() -> None:
    original = build_chain()
    forged: list[SealedEntry] = original[:2]
    for sealed in original[2:]:
        forged.append(seal(dataclasses.replace(sealed.entry, actor="forger"), forged[-1]))
    assert verify_chain(forged) is None  # a self-consistent forgery ...
    assert verify_chain(forged, expected_head=original[-1].hash) == 7  # ... but not the head


@pytest.mark.parametrize("index", range(6))
def test_deleting_any_entry_is_detected(index: int) -> None:
    chain = build_chain()
    head = chain[-1].hash
    del chain[index]
    assert verify_chain(chain, expected_head=head) == index + 1


@pytest.mark.parametrize(("i", "j"), [(0, 1), (1, 4), (4, 5), (0, 5)])
def test_reordering_entries_is_detected(i: int, j: int) -> None:
    chain = build_chain()
    chain[i], chain[j] = chain[j], chain[i]
    assert verify_chain(chain) == i + 1


def test_renumbering_after_a_delete_is_detected() -> None:
    chain = build_chain()
    del chain[2]
    renumbered = [
        dataclasses.replace(s, entry=dataclasses.replace(s.entry, seq=k))
        for k, s in enumerate(chain, start=1)
    ]
    assert verify_chain(renumbered) == 3


def test_payload_cannot_be_mutated_after_sealing() -> None:
    payload = {"reason": "original"}
    sealed = seal(AuditEntry(1, T0, "u", "a", "s", payload), None)
    payload["reason"] = "changed"
    assert sealed.entry.payload["reason"] == "original"
    with pytest.raises(TypeError):
        sealed.entry.payload["reason"] = "changed"  # type: ignore[index]
    assert verify_chain([sealed]) is None


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"at": datetime(2025, 1, 1)}, ValueError),  # naive time
        ({"seq": 0}, ValueError),
    ],
)
def test_bad_entries_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    base: dict[str, object] = {"seq": 1, "at": T0, "actor": "u", "action": "a", "subject": "s"}
    with pytest.raises(error):
        AuditEntry(**(base | kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [datetime(2025, 1, 1, tzinfo=UTC), {1, 2}, float("nan")])
def test_ambiguous_payload_values_are_refused(value: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        chain_hash(GENESIS, AuditEntry(1, T0, "u", "a", "s", {"v": value}))


def test_seal_refuses_a_wrong_seq() -> None:
    first = seal(AuditEntry(1, T0, "u", "a", "s"), None)
    with pytest.raises(ValueError, match="seq must be 2"):
        seal(AuditEntry(3, T0, "u", "a", "s"), first)
