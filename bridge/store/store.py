"""`Store`: the state file's lifecycle (open, migrate, close) and its tables, one object per table.

Services take the tables they use (`store.outbox`, `store.ledger`, ...), never the whole store; the
store itself only does what spans tables at the daemon's start (`release_all_leases`) and in the
retention job (`prune`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from bridge.store.audit import ProfileAudit
from bridge.store.bot_events import BotEvents
from bridge.store.cursors import ImportCursors
from bridge.store.db import DEFAULT_BUSY_TIMEOUT_MS, Database, utc_now
from bridge.store.events import WebhookEvents
from bridge.store.invitations import Invitations
from bridge.store.kv import KeyValues
from bridge.store.ledger import Ledger
from bridge.store.outbox import Outbox
from bridge.store.retention import PruneReport, Retention
from bridge.store.upgrade import upgrade
from bridge.store.urlindex import UrlIndexTable


class Store:
    """Open (creating and migrating as needed) the state file at `path`; ":memory:" for tests.

    Thread-safe: every method of every table is one transaction on a shared connection (see
    `bridge.store.db`). `clock` stamps created/updated times and is injected so tests control time.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        self._db = Database(path, busy_timeout_ms=busy_timeout_ms)
        try:
            upgrade(self._db)
        except BaseException:
            self._db.close()
            raise
        self.outbox = Outbox(self._db, clock)
        self.ledger = Ledger(self._db, clock)
        self.url_index = UrlIndexTable(self._db, clock)
        self.events = WebhookEvents(self._db, clock)
        self.cursors = ImportCursors(self._db, clock)
        self.audit = ProfileAudit(self._db, clock)
        self.kv = KeyValues(self._db, clock)
        self.invitations = Invitations(self._db, clock)
        self.bot_events = BotEvents(self._db, clock)
        self._retention = Retention(self._db, clock)

    @property
    def path(self) -> str:
        return self._db.path

    def release_all_leases(self) -> int:
        """Free every send lease and every ledger claim: called when the daemon starts, since a killed
        predecessor cannot release its own (one daemon per state file). Returns how many sends were leased."""
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE message_ledger SET claim_token = NULL, claim_until = NULL"
                " WHERE claim_token IS NOT NULL"
            )
            return int(
                conn.execute(
                    "UPDATE outbox SET lease_until = NULL, lease_token = NULL WHERE lease_token IS NOT NULL"
                ).rowcount
            )

    def prune(
        self, now: dt.datetime, *, keep_texts: dt.timedelta, forget_after: dt.timedelta, batch: int = 500
    ) -> PruneReport:
        """Retention (`bridge.store.retention`): drop old texts, then forget old finished rows."""
        return self._retention.prune(now, keep_texts=keep_texts, forget_after=forget_after, batch=batch)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
