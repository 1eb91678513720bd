"""Saves that are done but not yet committed (a webservice save while its workflows run).

The save is carried out as usual under the store lock, then its effect is taken back out of the shared
rows and kept here until `commit`: every other request keeps reading the committed row (InnoDB's consistent
read), a created record is absent (so `retrieve` answers ACCESS_DENIED, as on the real server), and a
write to the same record waits for the commit (the row lock), up to `lock_wait_seconds`.

Everything here is called with the store lock held.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .envelope import WsError
from .storage import Record, Store

# innodb_lock_wait_timeout's default.
LOCK_WAIT_SECONDS = 50.0


@dataclass
class PendingSave:
    """A staged save: `record` carries the new values, `before` the committed ones (None: created)."""

    module: str
    record: Record
    before_values: dict[str, str] | None
    before_modified: str
    before_ws: dict[str, str] | None  # the committed record as retrieve showed it, for VTEntityDelta
    after_ws: dict[str, str]  # the record as this save left it (what the workflows see)
    committed: bool = False


class Transactions:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.released = threading.Condition(store.lock)
        self.open_rows: set[int] = set()
        self.lock_wait_seconds = LOCK_WAIT_SECONDS

    def wait_for_row(self, crmid: int) -> None:
        """Block a writer while another request's transaction holds the record (the store lock is held)."""
        if crmid not in self.open_rows:
            return
        if not self.released.wait_for(lambda: crmid not in self.open_rows, timeout=self.lock_wait_seconds):
            raise WsError("DATABASE_QUERY_ERROR", self.store.profile.database_error)

    def stage(
        self, module: str, crmid: int, before: Record | None, before_ws: dict[str, str] | None
    ) -> PendingSave:
        """Take a save just made to record `crmid` back out of the shared rows until `commit`."""
        store = self.store
        record = store.records[crmid]
        pending = PendingSave(
            module=module,
            record=Record(record.crmid, record.module, dict(record.values), record.deleted, record.modified),
            before_values=None if before is None else dict(before.values),
            before_modified="" if before is None else before.modified,
            before_ws=before_ws,
            after_ws=store.as_ws(record),
        )
        if before is None:
            del store.records[crmid]
        else:
            record.values = dict(before.values)
            record.modified = before.modified
        self.open_rows.add(crmid)
        return pending

    def commit(self, pending: PendingSave) -> Record:
        store = self.store
        crmid = pending.record.crmid
        existing = store.records.get(crmid)
        if existing is None:
            store.records[crmid] = pending.record
            existing = pending.record
        else:
            existing.values = dict(pending.record.values)
            existing.modified = pending.record.modified
        pending.committed = True
        self.open_rows.discard(crmid)
        self.released.notify_all()
        return existing
