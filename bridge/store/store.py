"""`Store`: the bridge's durable state, one SQLite file, assembled from one mixin per concern."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from bridge.store.audit import AuditMixin
from bridge.store.db import DEFAULT_BUSY_TIMEOUT_MS, Database, utc_now
from bridge.store.events import EventsMixin
from bridge.store.imports import ImportsMixin
from bridge.store.ledger import LedgerMixin
from bridge.store.outbox import OutboxMixin
from bridge.store.outbox_claims import OutboxClaimsMixin
from bridge.store.outbox_status import OutboxStatusMixin
from bridge.store.retention import RetentionMixin
from bridge.store.upgrade import upgrade
from bridge.store.urlindex import UrlIndexMixin


class Store(
    OutboxMixin, OutboxClaimsMixin, OutboxStatusMixin, ImportsMixin, LedgerMixin, UrlIndexMixin, AuditMixin,
    EventsMixin, RetentionMixin
):
    """Open (creating and migrating as needed) the state file at `path`; ":memory:" for tests.

    Thread-safe: every method is one transaction on a shared connection (see `bridge.store.db`).
    `clock` stamps created/updated times and is injected so tests control time.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> None:
        self._clock = clock
        self._db = Database(path, busy_timeout_ms=busy_timeout_ms)
        try:
            upgrade(self._db)
        except BaseException:
            self._db.close()
            raise

    @property
    def path(self) -> str:
        return self._db.path

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
