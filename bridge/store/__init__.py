"""The bridge's durable state store: the only package that touches SQLite."""

from bridge.store.audit import AuditEntry
from bridge.store.db import SchemaTooNewError, StateError, StoreError
from bridge.store.events import WebhookEvent
from bridge.store.ledger import ForeignMessageError, LedgerEntry, LedgerOrigin
from bridge.store.outbox_rows import (
    OutboxSend,
    OutboxTarget,
    SendTarget,
    TargetState,
    backoff_delay,
    new_idempotency_key,
)
from bridge.store.outbox_status import SendFilter
from bridge.store.retention import PruneReport, event_age_limit
from bridge.store.store import Store
from bridge.store.upgrade import LATEST_VERSION
from bridge.store.urlindex import IndexKey, IndexRow, UnresolvedRef, UrlIndexRow

__all__ = [
    "LATEST_VERSION",
    "AuditEntry",
    "ForeignMessageError",
    "IndexKey",
    "IndexRow",
    "LedgerEntry",
    "LedgerOrigin",
    "OutboxSend",
    "OutboxTarget",
    "PruneReport",
    "SchemaTooNewError",
    "SendFilter",
    "SendTarget",
    "StateError",
    "Store",
    "StoreError",
    "TargetState",
    "UnresolvedRef",
    "UrlIndexRow",
    "WebhookEvent",
    "backoff_delay",
    "event_age_limit",
    "new_idempotency_key",
]
