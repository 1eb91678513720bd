"""The `kv` table: small JSON values under a key, for what has no table of its own (a detected CRM
capability, a backfill's resume point, the send field's last text per record, the bridge's own recent
writes, send counters for /metrics, the URL index's refresh watermarks)."""

from __future__ import annotations

from typing import Any

from bridge.store.db import Table, from_json, to_json


class KeyValues(Table):
    """The `kv` table (see the module docstring)."""

    def get(self, key: str, default: Any = None) -> Any:
        """A small JSON value stored under `key` (e.g. the CRM's detected utf8 capability)."""
        rows = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,))
        return from_json(rows[0][0]) if rows else default

    def set(self, key: str, value: Any) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, to_json(value), self._now()),
            )

    def delete(self, key: str) -> bool:
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM kv WHERE key = ?", (key,)).rowcount == 1

    def increment(self, key: str, by: int = 1) -> None:
        """Add `by` to the integer stored under `key` (0 when absent), atomically across processes."""
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = CAST(kv.value AS INTEGER) + excluded.value,"
                " updated_at = excluded.updated_at",
                (key, str(int(by)), self._now()),
            )

    def items(self, prefix: str) -> dict[str, Any]:
        """Every key starting with `prefix`, with its value."""
        rows = self._db.execute(
            "SELECT key, value FROM kv WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return {r[0]: from_json(r[1]) for r in rows}
