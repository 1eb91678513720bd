"""v02: a random idempotency key per outbox target; claims on the message ledger.

Keys: an outbox id starts again at 1 in a new state file (and goes back after a backup is restored), so a key
derived from it ("vsb-<id>-<network>") named two different sends, and VK answered the second with the first
one's message. New targets get a random key at enqueue (`bridge.store.outbox`); rows already queued keep the
key they may already have been sent with, so their retry stays idempotent.

Claims: `claim_token`/`claim_until` say which writer is recording a message in the CRM right now, and
`peer_id` whom the message is with (see `bridge.store.ledger`).
"""

from __future__ import annotations

import sqlite3

VERSION = 2
DESCRIPTION = "random idempotency key per outbox target; message ledger claims and peer"

_STATEMENTS = (
    "ALTER TABLE outbox_target ADD COLUMN idempotency_key TEXT",
    "UPDATE outbox_target SET idempotency_key = 'vsb-' || outbox_id || '-' || network",
    "CREATE UNIQUE INDEX outbox_target_key ON outbox_target (idempotency_key)",
    "ALTER TABLE message_ledger ADD COLUMN peer_id TEXT",
    "ALTER TABLE message_ledger ADD COLUMN claim_token TEXT",
    "ALTER TABLE message_ledger ADD COLUMN claim_until TEXT",
    "CREATE INDEX message_ledger_claim ON message_ledger (claim_token) WHERE claim_token IS NOT NULL",
)


def apply(conn: sqlite3.Connection) -> None:
    for statement in _STATEMENTS:
        conn.execute(statement)
