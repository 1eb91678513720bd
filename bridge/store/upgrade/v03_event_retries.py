"""v03: a webhook event whose record the CRM does not show as saved yet waits and is tried again."""

from __future__ import annotations

import sqlite3

VERSION = 3
DESCRIPTION = "webhook events: attempts, next attempt time and last error, for events waiting on the CRM"

_STATEMENTS = (
    "ALTER TABLE webhook_event ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE webhook_event ADD COLUMN next_attempt_at TEXT",
    "ALTER TABLE webhook_event ADD COLUMN last_error TEXT",
)


def apply(conn: sqlite3.Connection) -> None:
    for statement in _STATEMENTS:
        conn.execute(statement)
