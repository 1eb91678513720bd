"""Import cursors per network and the ledger of messages already recorded in the CRM.

The ledger is what makes the import exactly-once: a message id is reserved BEFORE the CRM create and gets
its CRM id right after it. A reservation without a CRM id (`ledger_unfinished`) means a crash between the
two; the importer must look the message up in the CRM before creating it again. Messages the bridge sent
itself are entered with origin "outbox" when their send succeeds, so the import skips them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from bridge.store.db import StateError, StoreComponent, chunked, from_db_time, placeholders

LedgerOrigin = Literal["import", "outbox"]


class ImportsMixin(StoreComponent):
    def get_cursor(self, network: str) -> str | None:
        rows = self._db.execute("SELECT cursor FROM import_cursor WHERE network = ?", (network,))
        return rows[0][0] if rows else None

    def set_cursor(self, network: str, cursor: str | None) -> None:
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

    def ledger_lookup(self, network: str, message_ids: Sequence[str]) -> dict[str, str | None]:
        """The given ids already in the ledger, mapped to their CRM id (None while still being recorded)."""
        found: dict[str, str | None] = {}
        unique = list(dict.fromkeys(message_ids))
        with self._db.transaction(write=False) as conn:
            for chunk in chunked(unique):
                for row in conn.execute(
                    "SELECT message_id, crm_message_id FROM message_ledger"
                    f" WHERE network = ? AND message_id IN ({placeholders(len(chunk))})",
                    (network, *chunk),
                ):
                    found[row[0]] = row[1]
        return found

    def ledger_entries(self, network: str, message_ids: Sequence[str]) -> dict[str, tuple[str | None, str]]:
        """The given ids already in the ledger: (CRM id or None while being recorded, origin)."""
        found: dict[str, tuple[str | None, str]] = {}
        unique = list(dict.fromkeys(message_ids))
        with self._db.transaction(write=False) as conn:
            for chunk in chunked(unique):
                for row in conn.execute(
                    "SELECT message_id, crm_message_id, origin FROM message_ledger"
                    f" WHERE network = ? AND message_id IN ({placeholders(len(chunk))})",
                    (network, *chunk),
                ):
                    found[row[0]] = (row[1], row[2])
        return found

    def ledger_reserve(self, network: str, message_id: str, origin: LedgerOrigin = "import") -> bool:
        """Claim a message id before creating its CRM record; False when it is already in the ledger."""
        # Checked here because INSERT OR IGNORE would silently ignore the CHECK constraint as well.
        if origin not in ("import", "outbox"):
            raise ValueError(f"unknown ledger origin {origin!r}")
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO message_ledger (network, message_id, origin, created_at)"
                " VALUES (?, ?, ?, ?)",
                (network, message_id, origin, self._now()),
            )
            return cur.rowcount == 1

    def ledger_set_crm_id(self, network: str, message_id: str, crm_message_id: str) -> None:
        """Record the CRM id of a reserved message; a different second id is refused (double record)."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT crm_message_id FROM message_ledger WHERE network = ? AND message_id = ?",
                (network, message_id),
            ).fetchone()
            if row is None:
                raise StateError(f"{network} message {message_id} was never reserved")
            if row[0] is not None and row[0] != crm_message_id:
                raise StateError(f"{network} message {message_id} is already CRM record {row[0]}")
            conn.execute(
                "UPDATE message_ledger SET crm_message_id = ? WHERE network = ? AND message_id = ?",
                (crm_message_id, network, message_id),
            )

    def ledger_release(self, network: str, message_id: str) -> bool:
        """Drop a reservation that has no CRM record (the create failed for sure); True if one was dropped."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM message_ledger WHERE network = ? AND message_id = ? AND crm_message_id IS NULL"
                " AND origin = 'import'",
                (network, message_id),
            )
            return cur.rowcount == 1

    def ledger_unfinished(self, network: str) -> list[str]:
        """Imported message ids reserved but without a CRM id: a crash hit between reserve and create."""
        rows = self._db.execute(
            "SELECT message_id FROM message_ledger"
            " WHERE network = ? AND origin = 'import' AND crm_message_id IS NULL ORDER BY created_at",
            (network,),
        )
        return [r[0] for r in rows]
