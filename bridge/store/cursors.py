"""The `import_cursor` table: where each network's message import goes on from, and when it last ran
(the ledger of recorded messages is `bridge.store.ledger`)."""

from __future__ import annotations

import datetime as dt

from bridge.store.db import Table, from_db_time


class ImportCursors(Table):
    """The `import_cursor` table (see the module docstring)."""

    def get(self, network: str) -> str | None:
        rows = self._db.execute("SELECT cursor FROM import_cursor WHERE network = ?", (network,))
        return rows[0][0] if rows else None

    def set(self, network: str, cursor: str | None) -> None:
        """Advance the cursor (last step of an import run) and stamp `last_import_at`."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO import_cursor (network, cursor, last_import_at) VALUES (?, ?, ?)"
                " ON CONFLICT (network) DO UPDATE SET cursor = excluded.cursor,"
                " last_import_at = excluded.last_import_at",
                (network, cursor, self._now()),
            )

    def last_import_at(self, network: str) -> dt.datetime | None:
        rows = self._db.execute("SELECT last_import_at FROM import_cursor WHERE network = ?", (network,))
        return from_db_time(rows[0][0]) if rows else None
