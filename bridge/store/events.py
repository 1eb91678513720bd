"""Webhook events accepted but not yet processed, and a small key-value table for flags.

The webhook answers 2xx only after `remember_event` committed, so an accepted event survives a crash;
a retried delivery of the same event id is recognised and not processed twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bridge.store.db import StoreComponent, from_json, require_time, to_json


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    event_id: str
    kind: str
    payload: Any
    received_at: dt.datetime


class EventsMixin(StoreComponent):
    def remember_event(self, event_id: str, kind: str, payload: Any) -> bool:
        """Store an accepted event; False when this event id was seen before (nothing is changed)."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO webhook_event (event_id, kind, payload, received_at)"
                " VALUES (?, ?, ?, ?)",
                (event_id, kind, to_json(payload), self._now()),
            )
            return cur.rowcount == 1

    def pending_events(self, limit: int = 100) -> list[WebhookEvent]:
        """Events not yet done, oldest first."""
        rows = self._db.execute(
            "SELECT event_id, kind, payload, received_at FROM webhook_event WHERE done_at IS NULL"
            " ORDER BY received_at, event_id LIMIT ?",
            (limit,),
        )
        return [WebhookEvent(r[0], r[1], from_json(r[2]), require_time(r[3])) for r in rows]

    def mark_event_done(self, event_id: str, error: str | None = None) -> bool:
        """Close an event, with the error if it could not be processed; False if unknown or already done."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE webhook_event SET done_at = ?, error = ? WHERE event_id = ? AND done_at IS NULL",
                (self._now(), error, event_id),
            )
            return cur.rowcount == 1

    def event_error(self, event_id: str) -> str | None:
        rows = self._db.execute("SELECT error FROM webhook_event WHERE event_id = ?", (event_id,))
        return rows[0][0] if rows else None

    def kv_get(self, key: str, default: Any = None) -> Any:
        """A small JSON value stored under `key` (e.g. the CRM's detected utf8 capability)."""
        rows = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,))
        return from_json(rows[0][0]) if rows else default

    def kv_set(self, key: str, value: Any) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, to_json(value), self._now()),
            )

    def kv_delete(self, key: str) -> bool:
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount == 1

    def kv_increment(self, key: str, by: int = 1) -> None:
        """Add `by` to the integer stored under `key` (0 when absent), atomically across processes."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = CAST(kv.value AS INTEGER) + excluded.value,"
                " updated_at = excluded.updated_at",
                (key, str(int(by)), self._now()),
            )

    def kv_items(self, prefix: str) -> dict[str, Any]:
        """Every key starting with `prefix`, with its value."""
        rows = self._db.execute(
            "SELECT key, value FROM kv WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return {r[0]: from_json(r[1]) for r in rows}

    def failed_events(self, limit: int = 10) -> list[tuple[WebhookEvent, str]]:
        """Workflow events that could not be processed, with the reason; newest first."""
        rows = self._db.execute(
            "SELECT event_id, kind, payload, received_at, error FROM webhook_event"
            " WHERE done_at IS NOT NULL AND error IS NOT NULL ORDER BY done_at DESC, event_id LIMIT ?",
            (limit,),
        )
        return [(WebhookEvent(r[0], r[1], from_json(r[2]), require_time(r[3])), r[4]) for r in rows]
