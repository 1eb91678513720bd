"""The CRM URL index: which Contact/Account/Lead holds which network account.

Imports match a message's sender to CRM records through this index instead of querying vtiger per
message. It lives in the state file: a start catches it up by `modifiedtime` (a few requests); it is
built fully on a first start (or after its layout changed) and rebuilt daily, which also drops deleted
records, while everything else goes on (bridge/daemon/index_start.py); screen names are resolved to
account ids in the provider's batches.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bridge.crm import CLIENT_MODULES, Crm
from bridge.store import IndexRow, UrlIndexTable
from providers.base import ProfileRef, Provider
from providers.errors import InvalidProfileUrl, ProviderError, ProviderNotAllowed

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]  # (module, records read so far)
INDEX_WRITE_BATCH = 500
WALK_MARGIN = dt.timedelta(minutes=2)
INDEX_FORMAT = 1  # raise when the rows the index keeps change meaning: every state file rebuilds once


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class IndexActivity:
    """What the index is doing now, for /healthz and `status`."""

    state: str = "not built"  # "building", "catching up", "rebuilding", "ready", "failed"
    read: int = 0  # records read by the current (or last) refresh
    since: dt.datetime | None = None  # when the current state began
    ready_at: dt.datetime | None = None  # the end of the last refresh that succeeded
    error: str = ""

    def as_dict(self, records: int) -> dict[str, object]:
        return {
            "state": self.state,
            "records": records,
            "read": self.read,
            "since": self.since.isoformat() if self.since else None,
            "ready_at": self.ready_at.isoformat() if self.ready_at else None,
            **({"error": self.error} if self.error else {}),
        }


class UrlIndex:
    """Builds and queries the URL index held in the state store.

    `usable`: the index may be used to match senders: a refresh succeeded in this process, so it holds
    every client record the CRM showed then (an index read only in part would turn known clients into
    unknown senders). A full build records its end in the state file (`UrlIndexTable.set_built`), so the
    next start knows it can catch up instead of rebuilding.
    """

    def __init__(self, crm: Crm, providers: Mapping[str, Provider], table: UrlIndexTable) -> None:
        self.crm = crm
        self.providers = dict(providers)
        self.table = table
        self._full = threading.Lock()  # one full build at a time
        self._catch_up = threading.Lock()  # one catch-up at a time
        self.activity = IndexActivity()
        self.usable = threading.Event()
        self._touched: set[str] | None = None  # records indexed on their own during a full build

    def layout(self) -> str:
        """Which fields of which modules the index holds for which network: a change needs a full build."""
        fields = {m: self._fields(m) for m in CLIENT_MODULES}
        return json.dumps({"format": INDEX_FORMAT, "fields": fields}, sort_keys=True)

    def needs_full_build(self) -> bool:
        """No full build of this layout ever ended in this state file (first start, lost or replaced
        file, a killed first build, another set of fields or networks)."""
        built = self.table.built()
        return built is None or built[0] != self.layout()

    def full_build_due(self, max_age: dt.timedelta) -> bool:
        """The last complete full build (the only thing that drops deleted records) is older than max_age."""
        built = self.table.built()
        if built is None or built[0] != self.layout():
            return True
        try:
            at = dt.datetime.fromisoformat(built[1])
        except ValueError:
            return True
        return dt.datetime.now(dt.UTC) - at > max_age

    def status(self) -> dict[str, object]:
        return self.activity.as_dict(self.table.count())

    def refresh(
        self,
        *,
        full: bool = False,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> int:
        """Bring the index up to date with the CRM; returns how many records were (re)indexed.

        Incremental: the records saved after each module's watermark. Full: every record, then the
        records not seen are dropped (deleted in the CRM) and the build's end is recorded. `cancel` set
        (the daemon stops) ends the walk between two records; what was read stays, nothing is dropped.
        """
        # A catch-up may run while a full build walks (an import must not wait for a rebuild): they write
        # through the same guarded upserts, and the build's prune keeps what the catch-up indexed.
        with self._full if full else self._catch_up:
            shown = full or not self._full.locked()  # a rebuild's progress is what /healthz shows
            if shown:
                state = ("rebuilding" if self.usable.is_set() else "building") if full else "catching up"
                self.activity = IndexActivity(state, 0, _now(), self.activity.ready_at)
            try:
                total = self._refresh(full, progress, cancel, shown)
            except Exception as exc:
                if shown:
                    self.activity.state, self.activity.error = "failed", str(exc)[:300]
                    self.activity.since = _now()
                raise
            if cancel is not None and cancel.is_set():
                self.activity.state = "stopped"
                return total
            if shown:
                self.activity.state, self.activity.since = "ready", _now()
                self.activity.ready_at = self.activity.since
            self.usable.set()
            return total

    def _fields(self, module: str) -> dict[str, str]:
        return {n: f for n, f in self.crm.url_field_names_of(module).items() if n in self.providers}

    def _refresh(
        self, full: bool, progress: Progress | None, cancel: threading.Event | None, shown: bool
    ) -> int:
        total = 0
        layout, started = self.layout(), _now()
        if full:
            self._touched = set()
        try:
            for module in CLIENT_MODULES:
                fields = self._fields(module)
                if not fields:
                    continue
                watermark = None if full else self.table.watermark(module)
                columns = sorted(set(fields.values()))
                if watermark is None:
                    records: Iterable[Mapping[str, object]] = self.crm.records(module, columns)
                else:
                    records = self.crm.changed_since(module, watermark, columns)
                seen: set[str] = set()
                newest = ""
                page: dict[str, list[IndexRow]] = {}
                modified: dict[str, str] = {}
                for count, record in enumerate(records, start=1):
                    if cancel is not None and cancel.is_set():
                        break
                    record_id = self.crm.id_of(record)
                    seen.add(record_id)
                    touched = self._touched
                    if not full and touched is not None:  # a full build walks: its prune must keep it
                        touched.add(record_id)
                    modified[record_id] = self.crm.modified_at(record)
                    newest = max(newest, modified[record_id])
                    page[record_id] = self._rows(module, fields, record)
                    total += 1
                    if shown:
                        self.activity.read = total
                    if len(page) >= INDEX_WRITE_BATCH:  # one transaction per batch, not per record
                        self.table.replace_records(page, modified)
                        page, modified = {}, {}
                    if progress is not None and count % 1000 == 0:
                        progress(module, count)
                self.table.replace_records(page, modified)
                if cancel is not None and cancel.is_set():
                    # A full walk goes in id order, not by save time: its newest save is no watermark.
                    if not full and newest:
                        self.table.set_watermark(module, newest)
                    return total
                if full and newest:
                    # The walk goes in id order: a record it had passed may have been saved since. The
                    # next catch-up reads from the walk's start (a margin for the CRM's clock) on.
                    newest = min(newest, self.crm.format_datetime(started - WALK_MARGIN))
                if newest:
                    self.table.set_watermark(module, newest)
                if full:
                    self.table.prune(module, seen | (self._touched or set()))
            if full:
                self.table.set_built(layout, started.isoformat())
        finally:
            if full:
                self._touched = None
        self.resolve_pending()
        return total

    def refresh_record(self, record_id: str) -> bool:
        """Re-index one record now; False, leaving the index as it is, when the CRM does not show it.

        vtiger answers ACCESS_DENIED both for a deleted record and for one whose creating webservice save
        is not committed yet, so one such answer says nothing; the caller decides (see
        bridge/webhook/processor.py), and the periodic full rebuild drops records that are really gone.
        """
        record = self.crm.read_record(record_id)
        if record is None:
            return False
        self.index_record(record_id, record)
        return True

    def index_record(self, record_id: str, record: Mapping[str, object]) -> None:
        """Index one record from values already read."""
        module = self.crm.module_of(record_id)
        touched = self._touched
        if touched is not None:  # a full build is walking: its prune must not drop this record
            touched.add(record_id)
        rows = {record_id: self._rows(module, self._fields(module), record)}
        self.table.replace_records(rows, {record_id: self.crm.modified_at(record)})
        self.resolve_pending()

    def forget_record(self, record_id: str) -> None:
        """Take a record the CRM no longer shows out of the index."""
        self.table.remove_record(record_id)

    def _rows(self, module: str, fields: Mapping[str, str], record: Mapping[str, object]) -> list[IndexRow]:
        rows = []
        for network, field_name in fields.items():
            ref = self._parse(network, str(record.get(field_name) or ""))
            if ref is None:
                continue
            rows.append(
                IndexRow(
                    module=module,
                    record_id=self.crm.id_of(record),
                    field=field_name,
                    url=str(record.get(field_name)),
                    network=network,
                    ref_kind=ref.kind,
                    ref_value=ref.value,
                    account_id=ref.value if ref.kind in ("id", "psid") else None,
                    modifiedtime=self.crm.modified_at(record) or None,
                )
            )
        return rows

    def _parse(self, network: str, url: str) -> ProfileRef | None:
        if not url.strip():
            return None
        try:
            return self.providers[network].parse_profile_url(url)
        except InvalidProfileUrl as exc:
            log.info("ignoring an unusable %s link in the CRM: %s", network, exc.reason)
            return None

    def resolve_pending(self, batch: int = 1000) -> int:
        """Resolve screen names in the index to account ids, a provider batch at a time."""
        resolved_total = 0
        for network, provider in self.providers.items():
            while True:
                refs = self.table.unresolved(network, batch)
                if not refs:
                    break
                wanted = [ProfileRef(network, r.ref_kind, r.ref_value) for r in refs]
                try:
                    resolved = provider.resolve(wanted)
                except ProviderNotAllowed:
                    # The network cannot resolve such links at all (Facebook profile URLs): stop asking.
                    resolved = {}
                except ProviderError as exc:
                    log.warning("could not resolve %s links now: %s", network, exc)
                    break
                for ref in wanted:
                    # Unknown names are stored as "" so they are not asked again on every refresh.
                    self.table.set_account(network, ref.kind, ref.value, resolved.get(ref, ""))
                resolved_total += len(resolved)
                if len(refs) < batch:
                    break
        return resolved_total

    def rows_of(self, record_id: str) -> list[IndexRow]:
        """The record's entry in the index: one row per social field that holds a usable link."""
        return self.table.rows_of(record_id)

    def records_for(self, network: str, account_id: str) -> list[tuple[str, str]]:
        """(module, record id) of every CRM record whose social field names this account."""
        rows = self.table.records_for_account(network, account_id)
        return sorted({(row.module, row.record_id) for row in rows})
