"""The CRM URL index: which Contact/Account/Lead holds which network account.

Imports match a message's sender to CRM records through this index instead of querying vtiger per
message. It is rebuilt fully at start (and periodically, which also drops deleted records) and
refreshed incrementally by `modifiedtime` in between; screen names are resolved to account ids in the
provider's batches.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping

from bridge.crm import CLIENT_MODULES, Crm
from bridge.store import IndexRow, UrlIndexTable
from providers.base import ProfileRef, Provider
from providers.errors import InvalidProfileUrl, ProviderError, ProviderNotAllowed

log = logging.getLogger(__name__)

Progress = Callable[[str, int], None]  # (module, records read so far)
INDEX_WRITE_BATCH = 500


class UrlIndex:
    """Builds and queries the URL index held in the state store."""

    def __init__(self, crm: Crm, providers: Mapping[str, Provider], table: UrlIndexTable) -> None:
        self.crm = crm
        self.providers = dict(providers)
        self.table = table

    def refresh(self, *, full: bool = False, progress: Progress | None = None) -> int:
        """Bring the index up to date with the CRM; returns how many records were (re)indexed."""

        total = 0
        for module in CLIENT_MODULES:
            fields = {n: f for n, f in self.crm.url_field_names_of(module).items() if n in self.providers}
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
            for count, record in enumerate(records, start=1):
                record_id = self.crm.id_of(record)
                seen.add(record_id)
                newest = max(newest, self.crm.modified_at(record))
                page[record_id] = self._rows(module, fields, record)
                total += 1
                if len(page) >= INDEX_WRITE_BATCH:  # one transaction per batch, not per record
                    self.table.replace_records(page)
                    page = {}
                if progress is not None and count % 1000 == 0:
                    progress(module, count)
            self.table.replace_records(page)
            if newest:
                self.table.set_watermark(module, newest)
            if full:
                self.table.prune(module, seen)
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
        fields = {n: f for n, f in self.crm.url_field_names_of(module).items() if n in self.providers}
        self.table.replace_record(record_id, self._rows(module, fields, record))
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
