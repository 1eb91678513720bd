"""v05: invitation links for the bots (Telegram, MAX), and the bot events already acted on.

`invitation` keeps only a hash of each token: the link itself is in the e-mail or SMS it was issued for,
and a state file that leaks cannot be turned into working links. `bot_event` makes acting on a Start or a
Stop idempotent on the network's update id, so a poll repeated after a crash does nothing twice.
"""

from __future__ import annotations

import sqlite3

VERSION = 5
DESCRIPTION = "invitation (bot invitation links, hashed) and bot_event (bot updates acted on)"

_STATEMENTS = (
    """CREATE TABLE invitation (
        token_hash  TEXT PRIMARY KEY,
        network     TEXT NOT NULL,
        record_id   TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        expires_at  TEXT NOT NULL,
        used_at     TEXT,
        used_by     TEXT,
        used_update TEXT
    )""",
    "CREATE INDEX invitation_record ON invitation (record_id)",
    """CREATE TABLE bot_event (
        network    TEXT NOT NULL,
        update_id  TEXT NOT NULL,
        kind       TEXT NOT NULL,
        account_id TEXT NOT NULL,
        outcome    TEXT NOT NULL,
        done_at    TEXT NOT NULL,
        PRIMARY KEY (network, update_id)
    )""",
)


def apply(conn: sqlite3.Connection) -> None:
    for statement in _STATEMENTS:
        conn.execute(statement)
