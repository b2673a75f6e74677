"""Replay refusal: a webhook-id is accepted once per platform key within the tolerance window.

The receipt that counts is a row in ``webhook_receipts``, written in the request's transaction
(pruned by beat past twice the tolerance, when the timestamp check refuses the id anyway). With
Redis configured it is the fast path in front of that row: a replay Redis still remembers is
refused without touching the database, and one it forgot (a restart without persistence, a
flush, an eviction) is still refused by the row.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

import redis
from sqlalchemy import delete
from sqlalchemy.dialects import sqlite

from proctor.storage.db import UnitOfWork, pg_connection, utcnow
from proctor.storage.tables import WebhookReceipt


class ReplayGuard(Protocol):
    def claim(self, uow: UnitOfWork, key_id: str, msg_id: str) -> bool:
        """True the first time (key_id, msg_id) is seen; False for a replay."""
        ...


class DatabaseReplayGuard:
    """Receipts in the request's own transaction: if the request fails, its id is free again."""

    def claim(self, uow: UnitOfWork, key_id: str, msg_id: str) -> bool:
        raw = pg_connection(uow.session)
        if raw is not None:  # every signed request: one plain statement, no ORM building
            with raw.cursor() as cur:
                cur.execute("INSERT INTO webhook_receipts (key_id, msg_id, received_at) "
                            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING msg_id",
                            (key_id, msg_id, utcnow()))
                return cur.fetchone() is not None
        stmt = (
            sqlite.insert(WebhookReceipt)
            .values(key_id=key_id, msg_id=msg_id, received_at=utcnow())
            .on_conflict_do_nothing()
            .returning(WebhookReceipt.msg_id)
        )
        return uow.session.execute(stmt).first() is not None


class RedisReplayGuard:
    """SET NX with an expiry a little past the timestamp tolerance, then the durable receipt;
    both released if the work fails."""

    def __init__(self, url: str, ttl_s: int, prefix: str = "proctor:") -> None:
        self.client = redis.Redis.from_url(url)
        self.ttl_s = ttl_s
        self.prefix = prefix
        self.durable = DatabaseReplayGuard()

    def claim(self, uow: UnitOfWork, key_id: str, msg_id: str) -> bool:
        key = f"{self.prefix}webhook-id:{key_id}:{msg_id}"
        if not self.client.set(key, b"1", nx=True, ex=self.ttl_s):
            return False
        if not self.durable.claim(uow, key_id, msg_id):
            return False  # Redis had forgotten it; the key now set keeps the next one fast
        uow.on_rollback(lambda: self.client.delete(key))
        return True


def purge_receipts(uow: UnitOfWork, *, older_than_s: int) -> int:
    """Receipts older than twice the tolerance can no longer matter (the timestamp check refuses)."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    result = uow.session.execute(delete(WebhookReceipt).where(WebhookReceipt.received_at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)  # a DML statement's CursorResult
