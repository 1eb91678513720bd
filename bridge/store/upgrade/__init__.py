"""Numbered schema migrations (`vNN_<what>.py`), each applied in its own transaction.

A migration module defines `VERSION`, `DESCRIPTION` and `apply(conn)`. `apply` must use `conn.execute`
only: `executescript` would COMMIT the surrounding transaction and break the all-or-nothing guarantee.
The `schema_version` table has one row per applied migration; the file's version is its maximum.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

from bridge.store.db import Database, SchemaTooNewError, to_db_time, utc_now
from bridge.store.upgrade import (
    v01_initial,
    v02_keys_and_claims,
    v03_event_retries,
    v04_crm_create_started,
    v05_invitations,
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sqlite3.Connection], None]

    @classmethod
    def from_module(cls, module: ModuleType) -> Migration:
        return cls(version=module.VERSION, description=module.DESCRIPTION, apply=module.apply)


MIGRATIONS: tuple[Migration, ...] = (
    Migration.from_module(v01_initial),
    Migration.from_module(v02_keys_and_claims),
    Migration.from_module(v03_event_retries),
    Migration.from_module(v04_crm_create_started),
    Migration.from_module(v05_invitations),
)
LATEST_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at  TEXT NOT NULL
)"""


def current_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if not exists:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def upgrade(db: Database, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Bring the file to the newest known version; returns the versions applied (empty when up to date).

    Raises SchemaTooNewError, before writing anything, when the file is newer than `migrations` knows.
    """
    latest = migrations[-1].version if migrations else 0
    with db.transaction(write=False) as conn:
        found = current_version(conn)
    if found > latest:
        raise SchemaTooNewError(
            f"the state store {db.path!r} has schema version {found}, but this bridge knows only up to "
            f"version {latest}; run a newer bridge or point it at another state file"
        )
    applied: list[int] = []
    for migration in migrations:
        # Re-read the version inside each write transaction: another process may have migrated meanwhile.
        with db.transaction() as conn:
            conn.execute(_VERSION_TABLE)
            if current_version(conn) >= migration.version:
                continue
            migration.apply(conn)
            conn.execute(
                "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, to_db_time(utc_now())),
            )
        applied.append(migration.version)
    return applied
