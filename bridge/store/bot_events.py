"""The `bot_event` table: the bot updates (Start, Stop) the bridge has acted on, by the network's update id.

A poll is repeated after a crash until its offset is stored; what was done for an update is noted here last,
so the repeat acts only on what was not finished.
"""

from __future__ import annotations

from bridge.store.db import Table


class BotEvents(Table):
    """The `bot_event` table (see the module docstring)."""

    def done(self, network: str, update_id: str) -> bool:
        rows = self._db.execute(
            "SELECT 1 FROM bot_event WHERE network = ? AND update_id = ?", (network, update_id)
        )
        return bool(rows)

    def mark_done(self, network: str, update_id: str, kind: str, account_id: str, outcome: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO bot_event (network, update_id, kind, account_id, outcome, done_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (network, update_id, kind, account_id, outcome, self._now()),
            )

    def outcome(self, network: str, update_id: str) -> str | None:
        rows = self._db.execute(
            "SELECT outcome FROM bot_event WHERE network = ? AND update_id = ?", (network, update_id)
        )
        return str(rows[0][0]) if rows else None
