"""The `profile_audit` table: what a profile import wrote into a CRM record, what it left alone and why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.store.db import Table, from_json, require_time, to_json


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    record_id: str
    network: str
    written: dict[str, Any]  # field -> value written (or that would be, in a dry run)
    skipped_filled: list[str]  # fields the CRM already had: the import never overwrites
    not_provided: list[str]  # fields the network did not provide
    errors: list[Any]
    dry_run: bool
    created_at: dt.datetime


class ProfileAudit(Table):
    """The `profile_audit` table (see the module docstring)."""

    def profile_write(
        self,
        record_id: str,
        network: str,
        *,
        written: Mapping[str, Any],
        skipped_filled: Sequence[str],
        not_provided: Sequence[str],
        errors: Sequence[Any],
        dry_run: bool,
    ) -> int:
        """Append one audit row; returns its id."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO profile_audit (record_id, network, written, skipped_filled, not_provided,"
                " errors, dry_run, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record_id,
                    network,
                    to_json(dict(written)),
                    to_json(list(skipped_filled)),
                    to_json(list(not_provided)),
                    to_json(list(errors)),
                    int(dry_run),
                    self._now(),
                ),
            )
            assert cur.lastrowid is not None
            return cur.lastrowid

    def for_record(self, record_id: str, limit: int = 100) -> list[AuditEntry]:
        """The record's audit rows, newest first."""
        rows = self._db.execute(
            "SELECT * FROM profile_audit WHERE record_id = ? ORDER BY id DESC LIMIT ?", (record_id, limit)
        )
        return [
            AuditEntry(
                id=r["id"],
                record_id=r["record_id"],
                network=r["network"],
                written=from_json(r["written"]),
                skipped_filled=from_json(r["skipped_filled"]),
                not_provided=from_json(r["not_provided"]),
                errors=from_json(r["errors"]),
                dry_run=bool(r["dry_run"]),
                created_at=require_time(r["created_at"]),
            )
            for r in rows
        ]
