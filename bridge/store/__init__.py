"""The bridge's durable state, one SQLite file: the only package that touches SQLite.

One class per table, each the typed interface the services depend on:

    outbox.py     `Outbox`: sends and their per-network targets (claims: outbox_claims.py, reads:
                  outbox_status.py, row types: outbox_rows.py)
    ledger.py     `Ledger`: every network message recorded in the CRM, and who records it
    urlindex.py   `UrlIndexTable`: which client record holds which profile link
    events.py     `WebhookEvents`: accepted webhook events until they are done
    cursors.py    `ImportCursors`: where each network's import goes on from
    audit.py      `ProfileAudit`: what profile imports wrote
    kv.py         `KeyValues`: small values without a table of their own
    invitations.py `Invitations`: the bots' single-use invitation links (hashed)
    bot_events.py `BotEvents`: the bot updates (Start, Stop) already acted on
    store.py      `Store`: opens, migrates and closes the file; holds one object per table
    retention.py  what is dropped or forgotten after a while; db.py the connection; upgrade/ migrations
"""

from bridge.store.audit import AuditEntry, ProfileAudit
from bridge.store.bot_events import BotEvents
from bridge.store.cursors import ImportCursors
from bridge.store.db import SchemaTooNewError, StateError, StoreError
from bridge.store.events import WebhookEvent, WebhookEvents
from bridge.store.invitations import Invitations, IssuedInvitation, Redeemed, Redemption
from bridge.store.kv import KeyValues
from bridge.store.ledger import ForeignMessageError, Ledger, LedgerEntry, LedgerOrigin
from bridge.store.outbox import Outbox
from bridge.store.outbox_rows import (
    OutboxSend,
    OutboxTarget,
    SendTarget,
    TargetState,
    new_idempotency_key,
)
from bridge.store.outbox_status import SendFilter
from bridge.store.retention import PruneReport, event_age_limit
from bridge.store.store import Store
from bridge.store.upgrade import LATEST_VERSION
from bridge.store.urlindex import IndexKey, IndexRow, UnresolvedRef, UrlIndexTable

__all__ = [
    "LATEST_VERSION",
    "AuditEntry",
    "BotEvents",
    "ForeignMessageError",
    "ImportCursors",
    "IndexKey",
    "IndexRow",
    "Invitations",
    "IssuedInvitation",
    "KeyValues",
    "Ledger",
    "LedgerEntry",
    "LedgerOrigin",
    "Outbox",
    "OutboxSend",
    "OutboxTarget",
    "ProfileAudit",
    "PruneReport",
    "Redeemed",
    "Redemption",
    "SchemaTooNewError",
    "SendFilter",
    "SendTarget",
    "StateError",
    "Store",
    "StoreError",
    "TargetState",
    "UnresolvedRef",
    "UrlIndexTable",
    "WebhookEvent",
    "WebhookEvents",
    "event_age_limit",
    "new_idempotency_key",
]
