"""`Crm`, the only door into vtiger: every question the bridge asks the CRM and every record it writes.

Services ask the gateway; they never hold the `vtiger_ws` client or build field names themselves (the
names are in `bridge.crm.schema` and `bridge.crm.fields`). Everything goes through the webservice, never
SQL. A test (`tests/test_project.py`) fails when anything outside `bridge/crm/` imports `vtiger_ws` or
reaches for a gateway's `.client`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bridge.crm import schema
from bridge.crm.fields import FieldMap, is_empty
from bridge.crm.filters import Filter
from bridge.crm.messages import MessageRecords
from bridge.crm.schema import (
    DEFAULT_URL_FIELDS,
    ID,
    MODIFIEDTIME,
    OWNER,
    MessagesLayout,
    SchemaReport,
)
from bridge.crm.texts import DEFAULT_LANGUAGE, language_of
from bridge.crm.values import Stored, as_stored, has_astral
from vtiger_ws import LoginInfo, VtigerAccessDenied, VtigerClient, VtigerError, vtql

log = logging.getLogger(__name__)

Record = dict[str, Any]


class Crm(MessageRecords):
    """SalesPlatform-aware operations on top of a `VtigerClient`.

    Args:
        supports_4byte_utf8: does the CRM's database keep emoji? None: not known yet (`probe_4byte_utf8`
            looks); until then emoji are written as readable names, which loses nothing.
    """

    def __init__(
        self,
        client: VtigerClient,
        *,
        messages: MessagesLayout | None = None,
        field_map: FieldMap | None = None,
        url_fields: Mapping[str, str] | None = None,
        timezone: str = "UTC",
        supports_4byte_utf8: bool | None = None,
    ) -> None:
        self.client = client
        self.messages = messages or MessagesLayout()
        self.field_map = field_map or FieldMap.default()
        self.url_field_names = dict(url_fields or DEFAULT_URL_FIELDS)
        self.tz = ZoneInfo(timezone)
        # Write only characters of the Basic Multilingual Plane (None: not decided yet, so yes).
        self.bmp_only: bool | None = None if supports_4byte_utf8 is None else not supports_4byte_utf8
        self.schema: SchemaReport | None = None
        # Language of the texts written for people (comments): see `read_language` and bridge.crm.texts.
        self.language = DEFAULT_LANGUAGE

    @classmethod
    def connect(cls, url: str, username: str, access_key: str, *, timeout: float, **options: Any) -> Crm:
        """A gateway to the CRM at `url` (no request yet: the first call logs in)."""
        client = VtigerClient(url, username, access_key, timeout=(5.0, timeout))
        return cls(client, **options)

    # --- session ----------------------------------------------------------------------------------
    def login(self) -> LoginInfo:
        return self.client.login()

    @property
    def api_user_id(self) -> str:
        """The bridge's own CRM user (logs in if needed): the owner of records nobody else owns."""
        return str(self.client.login_info.user_id)

    def request_counts(self) -> dict[str, int]:
        """Requests made to vtiger so far, per operation (shared by every thread using this gateway)."""
        return dict(self.client.stats)

    def requests_made(self) -> int:
        return sum(self.client.stats.values())

    def close(self) -> None:
        self.client.close()

    # --- start-up ---------------------------------------------------------------------------------
    def check_schema(self, networks: Iterable[str]) -> SchemaReport:
        """See `bridge.crm.schema.check_schema`; the report is kept for every later call."""
        self.schema = schema.check_schema(
            self.client,
            networks,
            messages=self.messages,
            field_map=self.field_map,
            url_field_names=self.url_field_names,
        )
        return self.schema

    @property
    def report(self) -> SchemaReport:
        if self.schema is None:
            raise RuntimeError("check_schema() must run before the CRM is used")
        return self.schema

    def probe_4byte_utf8(self) -> bool:
        """Does the CRM store characters outside the BMP? Looks for one in messages it already holds.

        SalesPlatform's default MySQL charset (3-byte utf8) turns each emoji into `?`, so a stored emoji
        proves a utf8mb4 database. Nothing is written: a probe record would stay in vtiger's Recycle Bin
        after its deletion. Without proof the answer is False (emoji are then written as readable names,
        which loses nothing); `vtiger.supports_4byte_utf8: true` states the capability instead.
        """
        module = self.messages.module
        query = vtql.select(module, [ID, schema.MESSAGE_TEXT], order_by=ID, descending=True, limit=100)
        try:
            rows = self.client.query(query)
        except VtigerError as exc:  # e.g. a role without read access: no proof either way
            log.info("could not look for emoji in %s: %s", module, exc)
            rows = []
        found = any(has_astral(str(row.get(schema.MESSAGE_TEXT, ""))) for row in rows)
        self.bmp_only = not found
        return found

    def read_language(self, user_id: str) -> str:
        """The language of the API user in vtiger (`ru_ru`, `en_us`), mapped to the bridge's text language.

        vtiger shows each user the CRM in their own language; the API user's is the best guess for the
        sales people reading the bridge's comments (SalesPlatform installs default to ru_ru).
        """
        query = vtql.select("Users", ["language"], where=vtql.eq(ID, user_id), limit=1)
        try:
            rows = self.client.query(query)
        except VtigerError as exc:
            log.warning(
                "cannot read the language of vtiger user %s (%s); comments are written in English "
                "(set vtiger.language to choose)",
                user_id,
                exc,
            )
            return DEFAULT_LANGUAGE
        vtiger_language = str(rows[0].get("language") or "") if rows else ""
        self.language = language_of(vtiger_language) if vtiger_language else DEFAULT_LANGUAGE
        log.info(
            "CRM language %s (user %s): comments for people are written in %s",
            vtiger_language or "?",
            user_id,
            "Russian" if self.language == "ru" else "English",
        )
        return self.language

    # --- client records ---------------------------------------------------------------------------
    def module_of(self, record_id: str) -> str:
        prefix = record_id.split("x", 1)[0]
        try:
            return self.report.id_prefixes[prefix]
        except KeyError:
            raise ValueError(
                f"{record_id!r} is not a Contacts, Accounts or Leads record id of this CRM"
            ) from None

    def id_prefix(self, module: str) -> str | None:
        """The webservice id prefix of `module` in this CRM ("12" for Contacts on a fresh install)."""
        return next((p for p, name in self.report.id_prefixes.items() if name == module), None)

    def record(self, record_id: str) -> Record:
        """The record as the CRM shows it now.

        Raises:
            VtigerAccessDenied: deleted, not visible to the bridge's user, or not committed yet.
        """
        return dict(self.client.retrieve(record_id))

    def read_record(self, record_id: str) -> Record | None:
        """The record as the CRM shows it now, or None where vtiger answers ACCESS_DENIED: deleted, not
        visible to the bridge's user, or created by a webservice save whose transaction is still open."""
        try:
            return self.record(record_id)
        except VtigerAccessDenied:
            return None

    def write_fields(self, record_id: str, fields: Mapping[str, str]) -> Record:
        """`revise` only these fields; returns the record as saved."""
        return dict(self.client.revise({ID: record_id, **fields}))

    def write_and_compare(self, record_id: str, fields: Mapping[str, str]) -> Stored:
        """`write_fields`, then what the CRM really kept of each value (a column may cut one)."""
        return as_stored(fields, self.write_fields(record_id, fields))

    @staticmethod
    def id_of(record: Mapping[str, object]) -> str:
        """The record's webservice id ("12x345")."""
        return str(record[ID])

    @staticmethod
    def owner_in(record: Mapping[str, object]) -> str:
        """The record's owner (`assigned_user_id`, a user or group webservice id) as read, "" when absent."""
        return str(record.get(OWNER) or "")

    @staticmethod
    def modified_at(record: Mapping[str, object]) -> str:
        """The record's last save as vtiger states it ("YYYY-MM-DD HH:MM:SS"), "" when not given."""
        return str(record.get(MODIFIEDTIME) or "")

    def field_type(self, module: str, field_name: str) -> str:
        return self.report.field_types.get(module, {}).get(field_name, "string")

    def field_names(self, module: str) -> set[str]:
        """Every field of `module` in this CRM."""
        return set(self.report.field_types.get(module, {}))

    def is_empty(self, module: str, record: Mapping[str, object], field_name: str) -> bool:
        """Is the record's field empty by vtiger's notion (`bridge.crm.fields.is_empty`)?"""
        return is_empty(record.get(field_name), self.field_type(module, field_name))

    def social_urls(self, module: str, record: Mapping[str, object]) -> dict[str, tuple[str, str]]:
        """network -> (field, url) for the record's non-empty social URL fields."""
        found: dict[str, tuple[str, str]] = {}
        for network, field_name in self.report.url_fields.get(module, {}).items():
            value = str(record.get(field_name) or "").strip()
            if value:
                found[network] = (field_name, value)
        return found

    def url_field_names_of(self, module: str) -> dict[str, str]:
        return dict(self.report.url_fields.get(module, {}))

    def owners_of(self, record_ids: Iterable[str]) -> dict[str, str]:
        """record id -> assigned_user_id, one query per module and 100 ids (deleted records are absent)."""
        by_module: dict[str, list[str]] = {}
        for record_id in sorted(set(record_ids)):
            by_module.setdefault(self.module_of(record_id), []).append(record_id)
        owners: dict[str, str] = {}
        for module, ids in by_module.items():
            for start in range(0, len(ids), 100):
                query = vtql.select(
                    module, [ID, OWNER], where=vtql.in_(ID, ids[start : start + 100]), limit=100
                )
                for row in self.client.query(query):
                    owners[str(row[ID])] = str(row.get(OWNER) or "")
        return owners

    def records(
        self, module: str, fields: Sequence[str], *, where: Filter | None = None, after: str | None = None
    ) -> Iterator[Record]:
        """Every record of `module` (matching `where`, and above `after`) with its id, last save time and
        `fields`, in id order, 100 per request."""
        if after:
            where = vtql.and_(vtql.gt(ID, after), where) if where else vtql.gt(ID, after)
        return self.client.query_iter(module, fields=[ID, MODIFIEDTIME, *fields], where=where)

    def changed_since(
        self,
        module: str,
        since: dt.datetime | str,
        fields: Sequence[str] | None = None,
        *,
        where: Filter | None = None,
    ) -> Iterator[Record]:
        """Records of `module` (matching `where`) saved after `since` (a moment, or a `modified_at` text of
        this CRM), oldest change first, with their id, last save time and `fields` (None: every field)."""
        moment = self.format_datetime(since) if isinstance(since, dt.datetime) else since
        columns = None if fields is None else [ID, MODIFIEDTIME, *fields]
        return self.client.changed_since(module, moment, fields=columns, where=where)

    def record_ids(
        self, module: str, *, where: Filter | None = None, after: str | None = None
    ) -> Iterator[str]:
        """The ids of `module`'s records matching `where` (and above `after`), in id order."""
        if after:
            where = vtql.and_(vtql.gt(ID, after), where) if where else vtql.gt(ID, after)
        return (str(row[ID]) for row in self.client.query_iter(module, fields=[ID], where=where))

    @staticmethod
    def among(ids: Sequence[str], where: Filter | None = None) -> Filter:
        """A filter for the records `ids` (sorted, as `record_ids` yields them) that also match `where`."""
        chunk = (
            vtql.in_(ID, ids[:100])
            if len(ids) <= 100
            else vtql.and_(vtql.ge(ID, ids[0]), vtql.le(ID, ids[-1]))
        )
        return vtql.and_(chunk, where) if where else chunk

    def create_lead(
        self, network: str, *, last_name: str, first_name: str, url: str, owner: str
    ) -> tuple[str, str] | None:
        """A Lead for a person the CRM does not know yet, holding their `network` profile link: (module,
        id), or None when Leads have no field for that network's links (nothing is created). The names are
        written as the CRM can hold them (`storable_value`)."""
        url_field = self.url_field_names_of(schema.LEAD_MODULE).get(network)
        if url_field is None:
            return None
        fields = {
            schema.LEAD_LAST_NAME: self.storable_value(last_name),
            schema.LEAD_FIRST_NAME: self.storable_value(first_name),
            url_field: url,
            OWNER: owner,
        }
        return schema.LEAD_MODULE, str(self.client.create(schema.LEAD_MODULE, fields)[ID])
