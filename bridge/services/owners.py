"""Who owns a client record in the CRM (`assigned_user_id`), remembered so a send does not ask twice.

A send's CRM message record and its failure comment belong to the client record's owner. The owner is
in the record the send reads when it is queued (`Sender.enqueue` retrieves it anyway), so the recorder
takes it from here instead of querying vtiger once more per send. Owners rarely change, but they do:

- an entry is replaced by every later read of the record (the next send to it);
- a `record_saved` event from the CRM drops the record's entry (bridge/webhook/processor.py);
- an entry older than `ttl` is not trusted: the owner is queried again (a send retried for hours, or one
  queued before a restart, is recorded for whoever owns the client then).

The cache holds at most `size` records (the oldest go first); it lives in memory only, so a restart
starts it empty and the first recording of each carried-over send asks vtiger once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from bridge.crm import Crm

OWNER_TTL_SECONDS = 600.0
OWNER_CACHE_SIZE = 10_000


class OwnerCache:
    """record id -> owner user id, fed by record reads and asked by the recorders (thread-safe)."""

    def __init__(
        self,
        crm: Crm,
        *,
        ttl: float = OWNER_TTL_SECONDS,
        size: int = OWNER_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.crm = crm
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._lock = threading.Lock()
        self._owners: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def remember(self, record_id: str, owner: str) -> None:
        """The owner as a read of the record just showed it ("" is not remembered)."""
        if not owner:
            return
        with self._lock:
            self._owners.pop(record_id, None)
            self._owners[record_id] = (owner, self.clock())
            while len(self._owners) > self.size:
                self._owners.popitem(last=False)

    def forget(self, record_id: str) -> None:
        """The record was saved in the CRM: its owner may have changed."""
        with self._lock:
            self._owners.pop(record_id, None)

    def cached(self, record_id: str) -> str | None:
        """The remembered owner, or None when not known or older than `ttl`."""
        with self._lock:
            entry = self._owners.get(record_id)
        if entry is None or self.clock() - entry[1] > self.ttl:
            return None
        return entry[0]

    def owner_of(self, record_id: str) -> str | None:
        """The record's owner: remembered, else asked from the CRM (one query) and remembered; None when
        the CRM shows the record without one (or not at all)."""
        owner = self.cached(record_id)
        if owner is None:
            owner = self.crm.owners_of([record_id]).get(record_id) or None
            if owner is not None:
                self.remember(record_id, owner)
        return owner
