"""v04: "a CRM create may have happened for this send" is a column of the outbox row, not a kv flag.

Up to v03 the sender noted a CRM create about to start as the kv key `outbox.crm_create_started.<id>`; a
send resumed after a crash with that key set looks in the CRM for its record before creating one. The
note belongs to the send, so it becomes `outbox.crm_create_started_at`, and the keys of sends still open
become that column (their time is when the key was written). Keys of finished sends go with them.
"""

from __future__ import annotations

import sqlite3

VERSION = 4
DESCRIPTION = "outbox: crm_create_started_at replaces the kv flag outbox.crm_create_started.<id>"

_FLAG = "outbox.crm_create_started."

_STATEMENTS = (
    "ALTER TABLE outbox ADD COLUMN crm_create_started_at TEXT",
    f"""UPDATE outbox SET crm_create_started_at = (
        SELECT kv.updated_at FROM kv WHERE kv.key = '{_FLAG}' || outbox.id
    ) WHERE crm_message_id IS NULL""",
    f"DELETE FROM kv WHERE substr(key, 1, {len(_FLAG)}) = '{_FLAG}'",
)


def apply(conn: sqlite3.Connection) -> None:
    for statement in _STATEMENTS:
        conn.execute(statement)
