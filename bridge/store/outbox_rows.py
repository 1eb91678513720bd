"""Outbox rows: sends waiting to go out, their per-network targets and the send-level CRM phase.

A send is one CRM client record + one text + one target per network. Every step is persisted as it
completes, so a worker that dies at any line leaves a row that the next claim resumes:

    target:  pending -> sending (attempt recorded BEFORE the network call) -> sent | failed
                        sending -> pending (transient failure, with next_attempt_at)
    send:    crm_create_started_at (before the CRM create) -> crm_message_id (right after it)
             -> linked_at -> commented_at -> done_at

A resumed target in `sending` is retried with the same idempotency key (random, drawn at enqueue), so the
network (or the provider's own de-duplication) can recognise the second attempt; a resumed send with
`crm_message_id` set never creates a second CRM record, and one with only `crm_create_started_at` set
looks in the CRM for the record its create may have made before creating one.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bridge.store.db import from_db_time, require_time

IDEMPOTENCY_PREFIX = "vsb"


class TargetState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


TERMINAL_STATES = frozenset({TargetState.SENT, TargetState.FAILED})


def new_idempotency_key() -> str:
    """A target's key, drawn once at enqueue and kept in its row for every attempt.

    Random rather than derived from the outbox id: ids start again in a new state file, go back after a
    backup is restored and repeat between two bridges on one community, and a repeated key makes VK answer
    with another send's message while delivering nothing (v02 migration).
    """
    return f"{IDEMPOTENCY_PREFIX}-{secrets.token_hex(16)}"


@dataclass(frozen=True, slots=True)
class SendTarget:
    """One network to send to, as requested: the CRM field the URL came from and, if known, the account."""

    network: str
    field: str
    url: str
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxTarget:
    outbox_id: int
    network: str
    field: str
    url: str
    account_id: str | None
    state: TargetState
    attempts: int
    last_attempt_at: dt.datetime | None
    next_attempt_at: dt.datetime | None
    message_id: str | None
    sent_at: dt.datetime | None
    error_code: str | None
    error_text: str | None
    idempotency_key: str

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES


@dataclass(frozen=True, slots=True)
class OutboxSend:
    id: int
    record_id: str
    module: str
    text: str  # always the full text, even when the CRM field must shorten it
    event_id: str | None
    requested_by: str
    created_at: dt.datetime
    crm_create_started_at: dt.datetime | None  # a CRM create may have happened from then on
    crm_message_id: str | None
    linked_at: dt.datetime | None
    commented_at: dt.datetime | None
    done_at: dt.datetime | None
    lease_until: dt.datetime | None
    lease_token: str | None
    targets: tuple[OutboxTarget, ...]

    @property
    def networks_finished(self) -> bool:
        """Every target is sent or failed: the CRM phase may start."""
        return all(t.finished for t in self.targets)

    def target(self, network: str) -> OutboxTarget:
        for t in self.targets:
            if t.network == network:
                return t
        raise KeyError(network)


def _target(row: sqlite3.Row) -> OutboxTarget:
    return OutboxTarget(
        outbox_id=row["outbox_id"],
        network=row["network"],
        field=row["field"],
        url=row["url"],
        account_id=row["account_id"],
        state=TargetState(row["state"]),
        attempts=row["attempts"],
        last_attempt_at=from_db_time(row["last_attempt_at"]),
        next_attempt_at=from_db_time(row["next_attempt_at"]),
        message_id=row["message_id"],
        sent_at=from_db_time(row["sent_at"]),
        error_code=row["error_code"],
        error_text=row["error_text"],
        idempotency_key=row["idempotency_key"],
    )


def load_sends(conn: sqlite3.Connection, ids: Sequence[int]) -> list[OutboxSend]:
    """The sends with these ids, in the given order, each with its targets (ordered by network)."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    targets: dict[int, list[OutboxTarget]] = {i: [] for i in ids}
    for row in conn.execute(
        f"SELECT * FROM outbox_target WHERE outbox_id IN ({marks}) ORDER BY outbox_id, network", tuple(ids)
    ):
        targets[row["outbox_id"]].append(_target(row))
    by_id: dict[int, OutboxSend] = {}
    for row in conn.execute(f"SELECT * FROM outbox WHERE id IN ({marks})", tuple(ids)):
        by_id[row["id"]] = OutboxSend(
            id=row["id"],
            record_id=row["record_id"],
            module=row["module"],
            text=row["text"],
            event_id=row["event_id"],
            requested_by=row["requested_by"],
            created_at=require_time(row["created_at"]),
            crm_create_started_at=from_db_time(row["crm_create_started_at"]),
            crm_message_id=row["crm_message_id"],
            linked_at=from_db_time(row["linked_at"]),
            commented_at=from_db_time(row["commented_at"]),
            done_at=from_db_time(row["done_at"]),
            lease_until=from_db_time(row["lease_until"]),
            lease_token=row["lease_token"],
            targets=tuple(targets[row["id"]]),
        )
    return [by_id[i] for i in ids if i in by_id]
