"""The `webhook_event` table: webhook events accepted but not yet processed, and the errors of those that
could not be carried out.

The webhook answers 2xx only after `remember` committed, so an accepted event survives a crash;
a retried delivery of the same event id is recognised and not processed twice. An event whose record
the CRM does not show as saved yet is put off (`defer`) and stays pending until it is done; an
event that could not be carried out keeps its error (`failures`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bridge.store.db import Table, from_db_time, from_json, require_time, to_db_time, to_json


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    event_id: str
    kind: str
    payload: Any
    received_at: dt.datetime
    attempts: int = 0  # times it was put off because the CRM did not show the saved record yet
    next_attempt_at: dt.datetime | None = None
    error: str | None = None  # the last reason it waits, or (once done) why it could not be carried out
    done_at: dt.datetime | None = None


_COLUMNS = "event_id, kind, payload, received_at, attempts, next_attempt_at, last_error, done_at, error"


def _event(r: Any) -> WebhookEvent:
    return WebhookEvent(
        r[0],
        r[1],
        from_json(r[2]),
        require_time(r[3]),
        int(r[4]),
        from_db_time(r[5]),
        r[8] if r[7] is not None else r[6],
        from_db_time(r[7]),
    )


class WebhookEvents(Table):
    """The `webhook_event` table (see the module docstring)."""

    def remember(self, event_id: str, kind: str, payload: Any) -> bool:
        """Store an accepted event; False when this event id was seen before (nothing is changed)."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO webhook_event (event_id, kind, payload, received_at)"
                " VALUES (?, ?, ?, ?)",
                (event_id, kind, to_json(payload), self._now()),
            )
            return cur.rowcount == 1

    def pending(self, limit: int = 100) -> list[WebhookEvent]:
        """Events not yet done (including those put off until later), oldest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM webhook_event WHERE done_at IS NULL"
            " ORDER BY received_at, event_id LIMIT ?",
            (limit,),
        )
        return [_event(r) for r in rows]

    def due(self, now: dt.datetime, limit: int = 100) -> list[WebhookEvent]:
        """Events not yet done whose next attempt is due at `now`, oldest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM webhook_event WHERE done_at IS NULL"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY received_at, event_id LIMIT ?",
            (to_db_time(now), limit),
        )
        return [_event(r) for r in rows]

    def defer(self, event_id: str, next_attempt_at: dt.datetime, reason: str) -> int:
        """Put a pending event off until `next_attempt_at`; returns how many times it has been put off."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE webhook_event SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                " WHERE event_id = ? AND done_at IS NULL",
                (to_db_time(next_attempt_at), reason, event_id),
            )
            row = conn.execute(
                "SELECT attempts FROM webhook_event WHERE event_id = ?", (event_id,)
            ).fetchone()
            return int(row[0]) if row else 0

    def next_attempt(self) -> dt.datetime | None:
        """When the earliest put-off event is due again (for a worker that sleeps until then), or None."""
        rows = self._db.execute(
            "SELECT MIN(next_attempt_at) FROM webhook_event"
            " WHERE done_at IS NULL AND next_attempt_at IS NOT NULL"
        )
        return from_db_time(rows[0][0]) if rows else None

    def failures(self, limit: int = 20) -> list[WebhookEvent]:
        """Events done with an error (not carried out), newest first: what `status` reports."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM webhook_event WHERE done_at IS NOT NULL AND error IS NOT NULL"
            " ORDER BY done_at DESC, event_id LIMIT ?",
            (limit,),
        )
        return [_event(r) for r in rows]

    def mark_done(self, event_id: str, error: str | None = None) -> bool:
        """Close an event, with the error if it could not be processed; False if unknown or already done."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE webhook_event SET done_at = ?, error = ? WHERE event_id = ? AND done_at IS NULL",
                (self._now(), error, event_id),
            )
            return cur.rowcount == 1

    def error(self, event_id: str) -> str | None:
        rows = self._db.execute("SELECT error FROM webhook_event WHERE event_id = ?", (event_id,))
        return rows[0][0] if rows else None
