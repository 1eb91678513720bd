"""The `outbox` and `outbox_target` tables: sends waiting to go out, their lease, and the persisted state
machine of each (see `outbox_rows`). `Outbox` is the table's one interface; its claims for the outbox
workers are in `outbox_claims`, its reads for health and `status` in `outbox_status`."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Sequence

from bridge.store.db import StateError, placeholders, to_db_time
from bridge.store.ledger import LedgerEntry, claim_for_send
from bridge.store.outbox_claims import OutboxClaims
from bridge.store.outbox_rows import (
    OutboxSend,
    OutboxTarget,
    SendTarget,
    TargetState,
    load_sends,
    new_idempotency_key,
)
from bridge.store.outbox_status import OutboxReads

# A send is due when it is open, not leased, and either some target needs work now (pending and due, or
# left in `sending` by a crashed worker) or every target is finished and only the CRM phase remains.
_DUE_SQL = """
SELECT o.id FROM outbox AS o
WHERE o.done_at IS NULL
  AND (o.lease_until IS NULL OR o.lease_until <= :now)
  AND (
    EXISTS (SELECT 1 FROM outbox_target AS t WHERE t.outbox_id = o.id
            AND (t.state = 'sending'
                 OR (t.state = 'pending' AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= :now))))
    OR NOT EXISTS (SELECT 1 FROM outbox_target AS t WHERE t.outbox_id = o.id
                   AND t.state IN ('pending', 'sending'))
  )
ORDER BY o.id
LIMIT :limit
"""


class Outbox(OutboxClaims, OutboxReads):
    def enqueue_send(
        self,
        *,
        record_id: str,
        module: str,
        text: str,
        targets: Sequence[SendTarget],
        event_id: str | None,
        requested_by: str,
    ) -> int:
        """Store a send and its targets in one transaction; a repeated `event_id` returns the first id."""
        if not targets:
            raise ValueError("a send needs at least one target")
        networks = [t.network for t in targets]
        if len(set(networks)) != len(networks):
            raise ValueError(f"one target per network, got {networks}")
        with self._db.transaction() as conn:
            if event_id is not None:
                found = conn.execute("SELECT id FROM outbox WHERE event_id = ?", (event_id,)).fetchone()
                if found is not None:
                    return int(found["id"])
            cur = conn.execute(
                "INSERT INTO outbox (record_id, module, text, event_id, requested_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (record_id, module, text, event_id, requested_by, self._now()),
            )
            outbox_id = cur.lastrowid
            assert outbox_id is not None
            conn.executemany(
                "INSERT INTO outbox_target (outbox_id, network, field, url, account_id, idempotency_key)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (outbox_id, t.network, t.field, t.url, t.account_id, new_idempotency_key())
                    for t in targets
                ],
            )
        return outbox_id

    def claim_due_sends(self, now: dt.datetime, limit: int, lease_seconds: float) -> list[OutboxSend]:
        """Lease up to `limit` due sends until now + lease_seconds; expired leases are claimable again."""
        token = uuid.uuid4().hex
        now_text = to_db_time(now)
        until = to_db_time(now + dt.timedelta(seconds=lease_seconds))
        with self._db.transaction() as conn:
            ids = [r["id"] for r in conn.execute(_DUE_SQL, {"now": now_text, "limit": limit})]
            if not ids:
                return []
            conn.execute(
                f"UPDATE outbox SET lease_until = ?, lease_token = ? WHERE id IN ({placeholders(len(ids))})",
                (until, token, *ids),
            )
            return load_sends(conn, ids)

    def release(self, outbox_id: int, lease_token: str) -> bool:
        """Give a lease back early; a no-op (False) if the lease has meanwhile passed to another worker."""
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE outbox SET lease_until = NULL, lease_token = NULL WHERE id = ? AND lease_token = ?",
                (outbox_id, lease_token),
            )
            return cur.rowcount == 1

    def _apply(
        self,
        conn: sqlite3.Connection,
        outbox_id: int,
        network: str,
        allowed: frozenset[TargetState],
        assignments: str,
        params: tuple[object, ...],
    ) -> None:
        row = conn.execute(
            "SELECT t.state, o.done_at FROM outbox_target AS t JOIN outbox AS o ON o.id = t.outbox_id"
            " WHERE t.outbox_id = ? AND t.network = ?",
            (outbox_id, network),
        ).fetchone()
        if row is None:
            raise StateError(f"outbox {outbox_id} has no {network!r} target")
        if row["done_at"] is not None:
            raise StateError(f"outbox {outbox_id} is already done")
        if TargetState(row["state"]) not in allowed:
            raise StateError(f"outbox {outbox_id} {network}: cannot leave state {row['state']!r} this way")
        conn.execute(
            f"UPDATE outbox_target SET {assignments} WHERE outbox_id = ? AND network = ?",
            (*params, outbox_id, network),
        )

    def mark_target_sending(self, outbox_id: int, network: str) -> OutboxTarget:
        """Record an attempt BEFORE the network call (attempts += 1); also resumes a crashed `sending`."""
        now = self._now()
        with self._db.transaction() as conn:
            self._apply(
                conn,
                outbox_id,
                network,
                frozenset({TargetState.PENDING, TargetState.SENDING}),
                "state = 'sending', attempts = attempts + 1, last_attempt_at = ?, next_attempt_at = NULL",
                (now,),
            )
            return load_sends(conn, [outbox_id])[0].target(network)

    def set_target_account(self, outbox_id: int, network: str, account_id: str) -> None:
        """Persist the account id resolved from the target's URL, so a resumed send does not resolve again."""
        with self._db.transaction() as conn:
            self._apply(
                conn,
                outbox_id,
                network,
                frozenset({TargetState.PENDING, TargetState.SENDING}),
                "account_id = ?",
                (account_id,),
            )

    def mark_target_sent(
        self, outbox_id: int, network: str, message_id: str, *, peer: str | None = None
    ) -> LedgerEntry:
        """The network accepted the message: it enters the ledger as this send's, so the import never
        records it, in the same transaction. Returns its ledger entry (an import may have seen it first).

        Raises:
            ForeignMessageError: the ledger holds `message_id` for another send or with another person than
                `peer`; nothing is changed (the target stays `sending`).
        """
        now = self._now()
        with self._db.transaction() as conn:
            self._apply(
                conn,
                outbox_id,
                network,
                frozenset({TargetState.SENDING}),
                "state = 'sent', message_id = ?, sent_at = ?, error_code = NULL, error_text = NULL",
                (message_id, now),
            )
            crm_id = self._open_send(conn, outbox_id)["crm_message_id"]
            return claim_for_send(
                conn, network, message_id, outbox_id=outbox_id, peer=peer, crm_message_id=crm_id, now=now
            )

    def mark_target_failed(self, outbox_id: int, network: str, error_code: str, error_text: str) -> None:
        """A permanent failure: this target is never attempted again."""
        with self._db.transaction() as conn:
            self._apply(
                conn,
                outbox_id,
                network,
                frozenset({TargetState.SENDING}),
                "state = 'failed', error_code = ?, error_text = ?",
                (error_code, error_text),
            )

    def mark_target_retry(
        self, outbox_id: int, network: str, next_attempt_at: dt.datetime, error_code: str, error_text: str
    ) -> None:
        """A transient failure: back to `pending`, not due before `next_attempt_at` (see `backoff_delay`)."""
        with self._db.transaction() as conn:
            self._apply(
                conn,
                outbox_id,
                network,
                frozenset({TargetState.SENDING}),
                "state = 'pending', next_attempt_at = ?, error_code = ?, error_text = ?",
                (to_db_time(next_attempt_at), error_code, error_text),
            )

    def renew_target_key(self, outbox_id: int, network: str, error_code: str, error_text: str) -> None:
        """Give a target a new idempotency key and make it due now: the network answered its key with a
        message it had delivered for someone else, so nothing was delivered under that key for this send."""
        with self._db.transaction() as conn:
            self._apply(
                conn,
                outbox_id,
                network,
                frozenset({TargetState.SENDING}),
                "state = 'pending', next_attempt_at = NULL, idempotency_key = ?, error_code = ?,"
                " error_text = ?",
                (new_idempotency_key(), error_code, error_text),
            )

    def mark_crm_create_started(self, outbox_id: int) -> None:
        """The send's CRM record is about to be created: from now on a resumed send looks for it in the CRM
        before creating one (the create may have succeeded without its answer reaching us)."""
        with self._db.transaction() as conn:
            self._open_send(conn, outbox_id)
            conn.execute(
                "UPDATE outbox SET crm_create_started_at = COALESCE(crm_create_started_at, ?) WHERE id = ?",
                (self._now(), outbox_id),
            )

    def set_send_crm_message_id(self, outbox_id: int, crm_message_id: str) -> None:
        """Persist the CRM record id right after the create; a different second id is refused."""
        with self._db.transaction() as conn:
            row = self._open_send(conn, outbox_id)
            if row["crm_message_id"] == crm_message_id:
                return
            if row["crm_message_id"] is not None:
                raise StateError(f"outbox {outbox_id} already has CRM record {row['crm_message_id']}")
            conn.execute("UPDATE outbox SET crm_message_id = ? WHERE id = ?", (crm_message_id, outbox_id))
            conn.execute(
                "UPDATE message_ledger SET crm_message_id = ?, claim_token = NULL, claim_until = NULL"
                " WHERE outbox_id = ? AND crm_message_id IS NULL",
                (crm_message_id, outbox_id),
            )

    def mark_send_linked(self, outbox_id: int) -> None:
        """The CRM record is related to the client record (add_related done)."""
        self._set_phase(outbox_id, "linked_at")

    def mark_send_commented(self, outbox_id: int) -> None:
        """The failure comment is written on the client record."""
        self._set_phase(outbox_id, "commented_at")

    def mark_send_done(self, outbox_id: int) -> None:
        """Everything is finished; the send leaves the queue and its lease is dropped."""
        with self._db.transaction() as conn:
            self._open_send(conn, outbox_id)
            unfinished = conn.execute(
                "SELECT COUNT(*) FROM outbox_target WHERE outbox_id = ? AND state IN ('pending', 'sending')",
                (outbox_id,),
            ).fetchone()[0]
            if unfinished:
                raise StateError(f"outbox {outbox_id} still has {unfinished} unfinished target(s)")
            conn.execute(
                "UPDATE outbox SET done_at = ?, lease_until = NULL, lease_token = NULL WHERE id = ?",
                (self._now(), outbox_id),
            )

    def _set_phase(self, outbox_id: int, column: str) -> None:
        with self._db.transaction() as conn:
            row = self._open_send(conn, outbox_id)
            if row["crm_message_id"] is None:
                raise StateError(f"outbox {outbox_id} has no CRM record yet")
            # COALESCE: repeating a step after a crash keeps the first completion time.
            conn.execute(
                f"UPDATE outbox SET {column} = COALESCE({column}, ?) WHERE id = ?", (self._now(), outbox_id)
            )

    @staticmethod
    def _open_send(conn: sqlite3.Connection, outbox_id: int) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT crm_message_id, done_at FROM outbox WHERE id = ?", (outbox_id,)
        ).fetchone()
        if row is None:
            raise StateError(f"no outbox row {outbox_id}")
        if row["done_at"] is not None:
            raise StateError(f"outbox {outbox_id} is already done")
        return row
