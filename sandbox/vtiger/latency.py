"""A real SalesPlatform 7.2's timing, for benchmarks and concurrency tests: `RealisticVtigerSandbox`.

Figures measured with tools/real-vtiger/latency.py on a fresh install (2 vCPU shared, PHP 7.4 with OPcache,
MariaDB 10.11, client on the same host; medians; the machine's load moves them by about ±20%):
- reads: getchallenge 4 ms, login 3, listtypes 5, relatedtypes 4, describe 9, retrieve 8, query 8 (100 rows
  10), query_related 9, add_related 7, delete 13;
- saves grow with the size of the saved record's module, because SalesPlatform's search-label hook
  (modules/Search/handlers/RecordSearchLabelUpdater.php) joins every row of the module's tables on each
  save: a Contact create took 30 ms at 0 Contacts, 31 at 1,000, 41 at 2,000, 46 at 3,000, 54 at 4,000 and
  74 at 6,000 (28 ms + 6.5 ms per 1,000 rows); a revise the same; a message create 17-19 ms at 0 messages,
  23 at 1,500 and 28 at 3,000 (17 ms + 2.8 ms per 1,000 rows);
- creates of any module serialise on one row lock (vtiger_crmentity_seq, taken by getUniqueID inside the
  request's transaction and held until it commits): Contacts from 1, 2, 4, 8 clients at once made 31, 46,
  47, 45 creates/s on a small table and 13.5, 15.6, 16.4, 16.2 at 6,200 Contacts, so all of a create but
  its first ~7 ms holds the lock;
- and waiting creates hand out duplicate auto-numbers: each reads `cur_id` from the snapshot its
  transaction took before waiting, and its `UPDATE ... WHERE cur_id = <old>` then changes nothing. 2, 4 and 8
  clients got 25 of 60, 75 of 120 and 187 of 240 `contact_no` values that another create also got.
The sandbox reproduces all three: it sleeps each request's modelled time (outside its store lock, so
requests overlap as on the server), lets one create at a time hold the sequence lock, and numbers each
create from the counter as it was when the create arrived.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from .._http import Request, Response
from .records import decode_element
from .server import VtigerSandbox
from .storage import split_ws_id

READ_MS: dict[str, float] = {
    "getchallenge": 4,
    "login": 3,
    "logout": 3,
    "extendsession": 3,
    "listtypes": 5,
    "relatedtypes": 4,
    "describe": 9,
    "retrieve": 8,
    "query": 8,
    "query_related": 9,
    "retrieve_related": 9,
    "sync": 8,
    "add_related": 7,
    "delete": 13,
}
CLIENT_MODULES = ("Contacts", "Accounts", "Leads")


@dataclass(frozen=True)
class LatencyModel:
    """Milliseconds per request; `scale` multiplies every figure (a test may widen or shrink them)."""

    reads: dict[str, float] = field(default_factory=lambda: dict(READ_MS))
    client_save_ms: float = 28.0  # a Contact/Account/Lead create or revise on an empty module
    client_save_per_1000: float = 6.5  # ... and per 1,000 rows of its module
    other_save_ms: float = 17.0  # messages, comments
    other_save_per_1000: float = 2.8
    before_lock_ms: float = 7.0  # of a create, the part before it waits for vtiger_crmentity_seq
    scale: float = 1.0

    def summary(self) -> str:
        reads = sorted(self.reads.values())
        return (
            f"reads {reads[0]:g}-{reads[-1]:g} ms; create/revise of Contacts, Accounts, Leads "
            f"{self.client_save_ms:g} ms + {self.client_save_per_1000:g} ms per 1,000 rows of the "
            f"module, of messages and comments {self.other_save_ms:g} ms + {self.other_save_per_1000:g} "
            f"ms; creates hold one lock (all but their first {self.before_lock_ms:g} ms) and a create "
            f"that waited reuses the auto-number it read before"
        )

    def save_ms(self, module: str, rows: int) -> float:
        if module in CLIENT_MODULES:
            return self.client_save_ms + self.client_save_per_1000 * rows / 1000
        return self.other_save_ms + self.other_save_per_1000 * rows / 1000


class RealisticVtigerSandbox(VtigerSandbox):
    """The vtiger sandbox with a real server's timing (`model`; None answers at once, as VtigerSandbox).

    Counters for tests: `max_holding` (creates inside the sequence lock at once: 1 by construction),
    `duplicates[module]` (auto-numbers handed out twice), `creates_in_flight`/`max_creates_in_flight[module]`
    (creates of a module between arrival and answer). `gate`, when set to a cleared Event, keeps a create
    that holds the lock from committing until the Event is set (to make an overlap certain in a test).
    """

    def __init__(self, *args: Any, model: LatencyModel | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.model = model
        self.sequence_lock = threading.Lock()  # the vtiger_crmentity_seq row
        self.gate: threading.Event | None = None
        self._counts = threading.Lock()
        self.holding = self.max_holding = self.waiting = 0
        self.creates_in_flight: Counter[str] = Counter()
        self.max_creates_in_flight: Counter[str] = Counter()
        self.duplicates: Counter[str] = Counter()
        self._rows: Counter[str] = Counter()  # rows per module, deleted ones included (MySQL keeps them)
        self._rows_seen = 0
        self._snapshot = threading.local()  # the auto-number counter as this thread's create first read it
        self.store.autonumber_hook = self._autonumber

    # --- what a request costs -----------------------------------------------------------------------------
    def rows(self, module: str) -> int:
        with self.lock:
            records = self.store.records
            if len(records) > self._rows_seen:  # records are only ever added, in crmid order
                self._rows.update(r.module for r in islice(records.values(), self._rows_seen, None))
                self._rows_seen = len(records)
            return self._rows[module]

    def _module_of(self, request: Request) -> str:
        if request.operation == "create":
            return request.arg("elementType", source="form") or ""
        element = decode_element(request.arg("element", source="form"))
        parts = split_ws_id(str(element.get("id", ""))) if isinstance(element, dict) else None
        module = self.schema.by_prefix.get(int(parts[0])) if parts and parts[0].isdigit() else None
        return module.name if module is not None else ""

    # --- answering ------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        model = self.model
        if model is None:
            return super().handle(request)
        op = request.operation
        if op not in ("create", "update", "revise"):
            time.sleep(model.reads.get(op, 0.0) * model.scale / 1000)
            return super().handle(request)
        module = self._module_of(request)
        total = model.save_ms(module, self.rows(module)) * model.scale / 1000
        if op != "create":  # a save of an existing row: no sequence number, so no shared lock
            time.sleep(total)
            return super().handle(request)
        return self._timed_create(request, module, total, model.before_lock_ms * model.scale / 1000)

    def _timed_create(self, request: Request, module: str, total: float, before: float) -> Response:
        with self._counts:
            self.creates_in_flight[module] += 1
            self.max_creates_in_flight[module] = max(
                self.max_creates_in_flight[module], self.creates_in_flight[module]
            )
        try:
            time.sleep(before)
            snapshot = self.store.autonumber_value(module)  # the transaction's consistent read
            with self._counts:
                self.waiting += 1
            with self.sequence_lock:
                with self._counts:
                    self.waiting -= 1
                    self.holding += 1
                    self.max_holding = max(self.max_holding, self.holding)
                try:
                    time.sleep(max(total - before, 0.0))
                    if self.gate is not None:
                        self.gate.wait()
                    self._snapshot.value = snapshot
                    try:
                        return super().handle(request)
                    finally:
                        self._snapshot.value = None
                finally:
                    with self._counts:
                        self.holding -= 1
        finally:
            with self._counts:
                self.creates_in_flight[module] -= 1

    def _autonumber(self, module: str, current: int) -> tuple[int, int]:
        """(number handed out, counter afterwards) for a create on this thread: from its snapshot, and the
        counter moves only if nobody moved it since (UPDATE ... WHERE cur_id = <snapshot>)."""
        snapshot = getattr(self._snapshot, "value", None)
        if snapshot is None or snapshot == current:
            return current + 1, current + 1
        self.duplicates[module] += 1
        return snapshot + 1, current
