"""Profile import: fill a client's EMPTY CRM fields from their social profile, never overwrite.

One record: read it, resolve its social URLs, fetch the profiles, compute the values for fields that
are empty, re-read the record right before writing and write once with `revise`, carrying only the
fields that are still empty. Batch mode does the same for many records with batched network calls.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bridge.crm import Crm, Filter
from bridge.crm.fields import profile_values
from bridge.crm.values import Stored
from bridge.store import ProfileAudit
from providers.base import AccountId, Profile, ProfileRef, Provider
from providers.errors import InvalidProfileUrl, ProviderError

log = logging.getLogger(__name__)

NETWORK_ORDER = ("vk", "x", "facebook")  # when two networks offer one field, the first wins
# A batch re-reads what was saved from a little before its read began: the CRM's clock may differ.
CHANGED_MARGIN = dt.timedelta(minutes=2)


@dataclass
class ProfileReport:
    """What a profile import did (or, in dry-run, would do) to one record."""

    record_id: str
    module: str
    networks: list[str] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)  # field -> value
    skipped_filled: list[str] = field(default_factory=list)  # fields the CRM already holds
    not_provided: list[str] = field(default_factory=list)  # mapped fields the network did not give
    errors: list[str] = field(default_factory=list)
    shortened: list[str] = field(default_factory=list)  # fields the CRM stored only the start of
    dry_run: bool = False
    no_link: bool = False  # the record has no social profile link at all (a backfill skips it)

    @property
    def changed(self) -> bool:
        return bool(self.written) and not self.dry_run


@dataclass
class _Source:
    network: str
    field: str
    url: str
    ref: ProfileRef | None = None
    account: AccountId | None = None
    profile: Profile | None = None


Progress = Callable[[int, int | None], None]  # (records done, total or None)


class ProfileImporter:
    """Imports profiles into empty CRM fields; collaborators are injected (no globals)."""

    def __init__(
        self, crm: Crm, providers: Mapping[str, Provider], audit: ProfileAudit | None = None
    ) -> None:
        self.crm = crm
        self.providers = dict(providers)
        self.audit = audit

    # --- one record ---------------------------------------------------------------------------------
    def import_record(
        self,
        record_id: str,
        *,
        url: str | None = None,
        dry_run: bool = False,
        record: Mapping[str, object] | None = None,
    ) -> ProfileReport:
        """Import the profile(s) behind the record's social URL fields (or behind `url`); `record`: the
        record as just read (else it is read now)."""
        module = self.crm.module_of(record_id)
        report = ProfileReport(record_id, module, dry_run=dry_run)
        if record is None:
            record = self.crm.record(record_id)
        sources = self._sources(module, record, url, report)
        self._resolve_and_fetch(sources, report)
        candidates = self._candidates(module, record, sources, report)
        if candidates and not dry_run:
            fresh = self.crm.record(record_id)  # someone may have typed a value meanwhile
            candidates = self._still_empty(module, fresh, candidates, report)
            if candidates:
                candidates = _as_stored(self.crm.write_and_compare(record_id, candidates), report)
        report.written = candidates
        self._audit(report)
        return report

    def _sources(
        self, module: str, record: Mapping[str, object], url: str | None, report: ProfileReport
    ) -> list[_Source]:
        if url is not None:
            for network in self._ordered(self.providers):
                try:
                    ref = self.providers[network].parse_profile_url(url)
                except InvalidProfileUrl as exc:
                    report.errors.append(f"{network}: {exc}")
                    return []
                if ref is not None:
                    return [_Source(network, "", url, ref)]
            report.errors.append(f"{url!r} is not a profile link of an enabled network")
            return []
        sources: list[_Source] = []
        urls = self.crm.social_urls(module, record)
        for network in self._ordered(urls):
            field_name, value = urls[network]
            provider = self.providers.get(network)
            if provider is None:
                continue
            try:
                ref = provider.parse_profile_url(value)
            except InvalidProfileUrl as exc:
                report.errors.append(f"{field_name}: {exc}")
                continue
            if ref is None:
                report.errors.append(f"{field_name}: {value!r} is not a {network} profile link")
                continue
            sources.append(_Source(network, field_name, value, ref))
        if not sources and not report.errors:
            report.no_link = True
            report.errors.append("the record has no social profile link to import from")
        return sources

    def _resolve_and_fetch(self, sources: list[_Source], report: ProfileReport) -> None:
        for source in sources:
            provider = self.providers[source.network]
            try:
                assert source.ref is not None
                resolved = provider.resolve([source.ref])
                source.account = resolved.get(source.ref)
                if source.account is None:
                    report.errors.append(f"{source.network}: no account behind {source.url!r}")
                    continue
                source.profile = provider.fetch_profiles([source.account]).get(source.account)
            except ProviderError as exc:
                report.errors.append(f"{source.network}: {exc}")
                continue
            self._check_profile(source, report)

    @staticmethod
    def _check_profile(source: _Source, report: ProfileReport) -> None:
        profile = source.profile
        if profile is None:
            report.errors.append(f"{source.network}: the profile behind {source.url!r} was not found")
        elif profile.deactivated:
            report.errors.append(f"{source.network}: the account is {profile.deactivated}; nothing imported")
            source.profile = None
        else:
            report.networks.append(source.network)

    def _candidates(
        self,
        module: str,
        record: Mapping[str, object],
        sources: Iterable[_Source],
        report: ProfileReport,
    ) -> dict[str, str]:
        mapping = self.crm.field_map.for_module(module)
        offered: dict[str, str] = {}
        for source in sources:
            if source.profile is None:
                continue
            for attribute, value in profile_values(source.profile).items():
                offered.setdefault(attribute, value)
        if not report.networks:
            return {}
        candidates: dict[str, str] = {}
        for attribute, field_name in mapping.items():
            if attribute not in offered:
                report.not_provided.append(field_name)
            elif not self.crm.is_empty(module, record, field_name):
                report.skipped_filled.append(field_name)
            else:
                candidates[field_name] = self.crm.storable_value(offered[attribute])
        return candidates

    def _still_empty(
        self,
        module: str,
        record: Mapping[str, object],
        candidates: Mapping[str, str],
        report: ProfileReport,
    ) -> dict[str, str]:
        kept: dict[str, str] = {}
        for field_name, value in candidates.items():
            if self.crm.is_empty(module, record, field_name):
                kept[field_name] = value
            else:
                report.skipped_filled.append(field_name)
        return kept

    def _audit(self, report: ProfileReport) -> None:
        if report.changed:
            log.info(
                "profile of %s filled from %s: %s",
                report.record_id,
                ", ".join(report.networks),
                ", ".join(report.written),
            )
        if self.audit is None:
            return
        self.audit.profile_write(
            record_id=report.record_id,
            network=",".join(report.networks),
            written=report.written,
            skipped_filled=report.skipped_filled,
            not_provided=report.not_provided,
            errors=report.errors,
            dry_run=report.dry_run,
        )

    @staticmethod
    def _ordered(networks: Iterable[str]) -> list[str]:
        names = list(networks)
        return sorted(names, key=lambda n: NETWORK_ORDER.index(n) if n in NETWORK_ORDER else 99)

    # --- many records ---------------------------------------------------------------------------------
    def columns(self, module: str) -> list[str]:
        """The fields a batch reads of each record: its social links and every field a profile may fill."""
        mapping = self.crm.field_map.for_module(module)
        return sorted({*self.crm.url_field_names_of(module).values(), *mapping.values()})

    def import_batch(
        self,
        module: str,
        *,
        where: Filter | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        changed_margin: dt.timedelta = CHANGED_MARGIN,
    ) -> list[ProfileReport]:
        """Import profiles for every record of `module` (optionally filtered by a VTQL condition): the
        records are read with `query_iter` (100 per request), then `import_records`."""
        read_since = dt.datetime.now(dt.UTC) - changed_margin
        records = list(self.crm.records(module, self.columns(module), where=where))
        return self.import_records(module, records, read_since=read_since, dry_run=dry_run, progress=progress)

    def import_records(
        self,
        module: str,
        records: Sequence[Mapping[str, object]],
        *,
        read_since: dt.datetime,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> list[ProfileReport]:
        """Import profiles for `records` (read with `columns(module)`, in id order, from `read_since` on).

        Profiles are fetched per network in the provider's largest batches; just before writing, those of
        the records to write that were saved since `read_since` are read again (one `changed_since`
        query over just these records, instead of one retrieve per record), so a value typed meanwhile
        is kept.
        """
        total = len(records)
        per_record: dict[str, list[_Source]] = {}
        reports: dict[str, ProfileReport] = {}
        for record in records:
            rid = self.crm.id_of(record)
            reports[rid] = ProfileReport(rid, module, dry_run=dry_run)
            per_record[rid] = self._sources(module, record, None, reports[rid])
        self._fetch_batched([s for sources in per_record.values() for s in sources], reports, per_record)
        pending: dict[str, dict[str, str]] = {}
        for record in records:
            rid = self.crm.id_of(record)
            candidates = self._candidates(module, record, per_record[rid], reports[rid])
            if candidates:
                pending[rid] = candidates
        if pending and not dry_run:
            chunk = self.crm.among(list(pending))  # in id order, as read
            changed = self.crm.changed_since(module, read_since, self.columns(module), where=chunk)
            fresh = {self.crm.id_of(row): row for row in changed}
            for rid, candidates in pending.items():
                if rid in fresh:
                    pending[rid] = self._still_empty(module, fresh[rid], candidates, reports[rid])
        for done, (rid, report) in enumerate(reports.items(), start=1):
            candidates = pending.get(rid, {})
            if candidates and not dry_run:
                try:
                    candidates = _as_stored(self.crm.write_and_compare(rid, candidates), report)
                except Exception as exc:  # one bad record must not stop a 5,000-record backfill
                    report.errors.append(f"the CRM refused the update: {exc}")
                    candidates = {}
            report.written = candidates
            self._audit(report)
            if progress is not None:
                progress(done, total)
        return list(reports.values())

    def _fetch_batched(
        self,
        sources: list[_Source],
        reports: Mapping[str, ProfileReport],
        per_record: Mapping[str, list[_Source]],
    ) -> None:
        owner = {id(s): rid for rid, ss in per_record.items() for s in ss}
        by_network: dict[str, list[_Source]] = {}
        for source in sources:
            by_network.setdefault(source.network, []).append(source)
        for network, group in by_network.items():
            provider = self.providers[network]
            try:
                resolved = provider.resolve({s.ref for s in group if s.ref is not None})
                accounts = set(resolved.values())
                profiles = provider.fetch_profiles(accounts)
            except ProviderError as exc:
                for source in group:
                    reports[owner[id(source)]].errors.append(f"{network}: {exc}")
                continue
            for source in group:
                report = reports[owner[id(source)]]
                source.account = resolved.get(source.ref) if source.ref else None
                if source.account is None:
                    report.errors.append(f"{network}: no account behind {source.url!r}")
                    continue
                source.profile = profiles.get(source.account)
                self._check_profile(source, report)


def _as_stored(stored: Stored, report: ProfileReport) -> dict[str, str]:
    """What the CRM really kept: MySQL cuts a value longer than its column without an error, so the
    report and the audit say what was stored and name each shortened field."""
    for field_name, (kept, value) in stored.shortened.items():
        report.shortened.append(field_name)
        report.errors.append(f"{field_name}: the CRM kept only {kept!r} of {value!r} (column too short)")
    return stored.values
