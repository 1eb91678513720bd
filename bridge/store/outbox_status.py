"""Outbox reads for health checks and the `status` CLI: depth, age, failures, listings."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from bridge.store.db import Table, require_time
from bridge.store.outbox_rows import OutboxSend, load_sends

SendFilter = Literal["open", "done", "all"]

_FILTERS: dict[str, str] = {
    "open": "WHERE done_at IS NULL",
    "done": "WHERE done_at IS NOT NULL",
    "all": "",
}


class OutboxReads(Table):
    """Part of `Outbox`: what health, metrics and `status` read."""

    def get_send(self, outbox_id: int) -> OutboxSend | None:
        with self._db.transaction(write=False) as conn:
            found = load_sends(conn, [outbox_id])
        return found[0] if found else None

    def depth(self) -> int:
        """Sends not yet done (waiting, in progress or only missing their CRM phase)."""
        return int(self._db.execute("SELECT COUNT(*) FROM outbox WHERE done_at IS NULL")[0][0])

    def newest_id(self) -> int:
        """The id of the newest send ever queued in this state file (0: none); ids only grow."""
        rows = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
        return int(rows[0][0]) if rows else 0

    def oldest_pending_age(self, now: dt.datetime) -> dt.timedelta | None:
        """How long the oldest open send has waited; None when the outbox is empty."""
        rows = self._db.execute("SELECT MIN(created_at) FROM outbox WHERE done_at IS NULL")
        oldest = rows[0][0]
        return None if oldest is None else now - require_time(oldest)

    def failures(self, limit: int = 20) -> list[OutboxSend]:
        """Sends with at least one permanently failed target, newest first."""
        with self._db.transaction(write=False) as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT outbox_id FROM outbox_target WHERE state = 'failed'"
                    " ORDER BY outbox_id DESC LIMIT ?",
                    (limit,),
                )
            ]
            return load_sends(conn, ids)

    def list_sends(self, status: SendFilter = "open", limit: int = 50) -> list[OutboxSend]:
        """Sends filtered by status, newest first."""
        where = _FILTERS[status]
        with self._db.transaction(write=False) as conn:
            ids = [
                r[0]
                for r in conn.execute(f"SELECT id FROM outbox {where} ORDER BY id DESC LIMIT ?", (limit,))
            ]
            return load_sends(conn, ids)
