"""v01: outbox, import cursors, message ledger, CRM URL index, profile audit, webhook events, kv."""

from __future__ import annotations

import sqlite3

VERSION = 1
DESCRIPTION = "initial schema: outbox, cursors, ledger, URL index, profile audit, webhook events, kv"

_STATEMENTS = (
    # AUTOINCREMENT: ids are never reused, even after rows are pruned (within this file: a new or restored
    # state file starts again, which is why v02 gives every target a random idempotency key).
    """CREATE TABLE outbox (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id      TEXT NOT NULL,
        module         TEXT NOT NULL,
        text           TEXT NOT NULL,
        event_id       TEXT UNIQUE,
        requested_by   TEXT NOT NULL,
        created_at     TEXT NOT NULL,
        crm_message_id TEXT,
        linked_at      TEXT,
        commented_at   TEXT,
        done_at        TEXT,
        lease_until    TEXT,
        lease_token    TEXT
    )""",
    "CREATE INDEX outbox_open ON outbox (done_at, id)",
    """CREATE TABLE outbox_target (
        outbox_id       INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
        network         TEXT NOT NULL,
        field           TEXT NOT NULL,
        url             TEXT NOT NULL,
        account_id      TEXT,
        state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_attempt_at TEXT,
        next_attempt_at TEXT,
        message_id      TEXT,
        sent_at         TEXT,
        error_code      TEXT,
        error_text      TEXT,
        PRIMARY KEY (outbox_id, network)
    )""",
    "CREATE INDEX outbox_target_state ON outbox_target (state, outbox_id)",
    """CREATE TABLE import_cursor (
        network        TEXT PRIMARY KEY,
        cursor         TEXT,
        last_import_at TEXT NOT NULL
    )""",
    """CREATE TABLE message_ledger (
        network        TEXT NOT NULL,
        message_id     TEXT NOT NULL,
        crm_message_id TEXT,
        origin         TEXT NOT NULL CHECK (origin IN ('import', 'outbox')),
        outbox_id      INTEGER REFERENCES outbox (id) ON DELETE SET NULL,
        created_at     TEXT NOT NULL,
        PRIMARY KEY (network, message_id)
    )""",
    "CREATE INDEX message_ledger_outbox ON message_ledger (outbox_id) WHERE outbox_id IS NOT NULL",
    "CREATE INDEX message_ledger_unfinished ON message_ledger (network) WHERE crm_message_id IS NULL",
    """CREATE TABLE url_index (
        module       TEXT NOT NULL,
        record_id    TEXT NOT NULL,
        field        TEXT NOT NULL,
        url          TEXT NOT NULL,
        network      TEXT NOT NULL,
        ref_kind     TEXT NOT NULL,
        ref_value    TEXT NOT NULL,
        account_id   TEXT,
        modifiedtime TEXT,
        PRIMARY KEY (record_id, field)
    ) WITHOUT ROWID""",
    "CREATE INDEX url_index_account ON url_index (network, account_id)",
    "CREATE INDEX url_index_ref ON url_index (network, ref_kind, ref_value)",
    # Partial: the resolver pages through unresolved refs without walking the resolved majority.
    "CREATE INDEX url_index_unresolved ON url_index (network, ref_kind, ref_value) WHERE account_id IS NULL",
    "CREATE INDEX url_index_modified ON url_index (module, modifiedtime)",
    """CREATE TABLE profile_audit (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id      TEXT NOT NULL,
        network        TEXT NOT NULL,
        written        TEXT NOT NULL,
        skipped_filled TEXT NOT NULL,
        not_provided   TEXT NOT NULL,
        errors         TEXT NOT NULL,
        dry_run        INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
        created_at     TEXT NOT NULL
    )""",
    "CREATE INDEX profile_audit_record ON profile_audit (record_id, id)",
    """CREATE TABLE webhook_event (
        event_id    TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        payload     TEXT NOT NULL,
        received_at TEXT NOT NULL,
        done_at     TEXT,
        error       TEXT
    )""",
    "CREATE INDEX webhook_event_pending ON webhook_event (done_at, received_at)",
    """CREATE TABLE kv (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
)


def apply(conn: sqlite3.Connection) -> None:
    for statement in _STATEMENTS:
        conn.execute(statement)
