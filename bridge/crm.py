"""The one place that knows SalesPlatform's CRM schema: social URL fields, the messages module,
status values, how messages are linked and how failures are explained to sales people.

Services ask this module; they never build field names themselves. Everything goes through the
`vtiger_ws` client, never SQL.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bridge.config import MessagesConfig
from bridge.crm_texts import DEFAULT_LANGUAGE, language_of
from bridge.mapping import FieldMap
from vtiger_ws import VtigerAccessDenied, VtigerClient, VtigerError, vtql

log = logging.getLogger(__name__)

CLIENT_MODULES: tuple[str, ...] = ("Contacts", "Accounts", "Leads")
DEFAULT_URL_FIELDS: dict[str, str] = {"vk": "vk_url", "x": "tw_url", "facebook": "fb_url"}
VTIGER_DATETIME = "%Y-%m-%d %H:%M:%S"
ELLIPSIS = "…"


class CrmSchemaError(Exception):
    """The CRM lacks fields or relations the configuration needs; the message names each one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The CRM schema does not fit the configuration:\n  - " + "\n  - ".join(problems))
        self.problems = problems


@dataclass
class SchemaReport:
    """What start-up learned about the CRM."""

    url_fields: dict[str, dict[str, str]]  # module -> network -> field (only fields that exist)
    status_fields: dict[str, tuple[str, str]]  # network -> (status, id) fields that exist
    disabled_networks: dict[str, str]  # network -> reason
    id_prefixes: dict[str, str]  # idPrefix -> module
    field_types: dict[str, dict[str, str]]  # module -> field -> type name
    warnings: list[str]


def _astral_standin(char: str) -> str:
    name = unicodedata.name(char, "")
    return f":{name.lower().replace(' ', '_')}:" if name else "?"


def bmp_safe(text: str) -> str:
    """Replace characters outside the Basic Multilingual Plane (most emoji) by readable names.

    SalesPlatform's default MySQL charset (3-byte utf8) stores them as `?`; `:grinning_face:` keeps the
    meaning. Variation selectors and zero-width joiners left alone would render oddly, so they go too.
    """
    out: list[str] = []
    for char in text:
        if ord(char) > 0xFFFF:
            out.append(_astral_standin(char))
        elif char in "\ufe0f\u200d":
            continue
        else:
            out.append(char)
    return "".join(out)


class Crm:
    """SalesPlatform-aware operations on top of a `VtigerClient`."""

    def __init__(
        self,
        client: VtigerClient,
        *,
        messages: MessagesConfig | None = None,
        field_map: FieldMap | None = None,
        url_fields: Mapping[str, str] | None = None,
        timezone: str = "UTC",
        bmp_only: bool | None = None,
    ) -> None:
        self.client = client
        self.messages = messages or MessagesConfig()
        self.field_map = field_map or FieldMap.default()
        self.url_field_names = dict(url_fields or DEFAULT_URL_FIELDS)
        self.tz = ZoneInfo(timezone)
        self.bmp_only = bmp_only
        self.schema: SchemaReport | None = None
        # Language of the texts written for people (comments): see `read_language` and bridge.crm_texts.
        self.language = DEFAULT_LANGUAGE

    # --- start-up ---------------------------------------------------------------------------------
    def check_schema(self, networks: Iterable[str]) -> SchemaReport:
        """Describe the client modules and the messages module; refuse a CRM that lacks mapped fields.

        Raises:
            CrmSchemaError: naming every missing or incompatible field.
        """
        networks = list(networks)
        problems: list[str] = []
        warnings: list[str] = []
        field_types: dict[str, dict[str, str]] = {}
        prefixes: dict[str, str] = {}
        for module in (*CLIENT_MODULES, self.messages.module):
            described = self.client.describe(module)
            field_types[module] = {f.name: f.type_name for f in described.fields}
            prefixes[described.id_prefix] = module
        for module in CLIENT_MODULES:
            types = field_types[module]
            for attribute, field_name in self.field_map.for_module(module).items():
                if field_name not in types:
                    problems.append(f"{module}.{field_name} (mapped from profile {attribute}) does not exist")
                elif not self.field_map.compatible(attribute, types[field_name]):
                    problems.append(
                        f"{module}.{field_name} is of type {types[field_name]!r}, "
                        f"which cannot hold the profile's {attribute}"
                    )
        msg_types = field_types[self.messages.module]
        for required in ("message", "assigned_user_id", "message_datetime", "type"):
            if required not in msg_types:
                problems.append(f"{self.messages.module}.{required} does not exist")
        url_fields: dict[str, dict[str, str]] = {m: {} for m in CLIENT_MODULES}
        disabled: dict[str, str] = {}
        status_fields: dict[str, tuple[str, str]] = {}
        for network in networks:
            name = self.url_field_names.get(network)
            present = [m for m in CLIENT_MODULES if name and name in field_types[m]]
            for module in present:
                url_fields[module][network] = name or ""
            if not present:
                disabled[network] = f"no {name!r} field on Contacts, Accounts or Leads"
                warnings.append(f"{network} disabled: the CRM has no {name!r} field")
            pair = (self.messages.status_fields.get(network, ""), self.messages.id_fields.get(network, ""))
            if pair[0] in msg_types and pair[1] in msg_types:
                status_fields[network] = pair
            elif network not in disabled:
                warnings.append(
                    f"{self.messages.module} has no status fields for {network}; "
                    "its sends are still recorded, without a per-network status"
                )
        # add_related answers success even for a label that links nothing: check the labels up front.
        labels = {r.label for r in self.client.relatedtypes(self.messages.module)}
        for module in CLIENT_MODULES:
            if module not in labels:
                problems.append(f"{self.messages.module} has no relation labelled {module!r}")
        if problems:
            raise CrmSchemaError(problems)
        self.schema = SchemaReport(url_fields, status_fields, disabled, prefixes, field_types, warnings)
        for warning in warnings:
            log.warning("%s", warning)
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
        query = vtql.select(self.messages.module, ["id", "message"], order_by="id", descending=True,
                            limit=100)
        try:
            rows = self.client.query(query)
        except VtigerError as exc:  # e.g. a role without read access: no proof either way
            log.info("could not look for emoji in %s: %s", self.messages.module, exc)
            rows = []
        found = any(ord(char) > 0xFFFF for row in rows for char in html.unescape(str(row.get("message", ""))))
        self.bmp_only = not found
        return found

    def read_language(self, user_id: str) -> str:
        """The language of the API user in vtiger (`ru_ru`, `en_us`), mapped to the bridge's text language.

        vtiger shows each user the CRM in their own language; the API user's is the best guess for the
        sales people reading the bridge's comments (SalesPlatform installs default to ru_ru).
        """
        query = vtql.select("Users", ["language"], where=vtql.eq("id", user_id), limit=1)
        try:
            rows = self.client.query(query)
        except VtigerError as exc:
            log.warning("cannot read the language of vtiger user %s (%s); comments are written in English "
                        "(set vtiger.language to choose)", user_id, exc)
            return DEFAULT_LANGUAGE
        vtiger_language = str(rows[0].get("language") or "") if rows else ""
        self.language = language_of(vtiger_language) if vtiger_language else DEFAULT_LANGUAGE
        log.info("CRM language %s (user %s): comments for people are written in %s", vtiger_language or "?",
                 user_id, "Russian" if self.language == "ru" else "English")
        return self.language

    # --- records ----------------------------------------------------------------------------------
    def module_of(self, record_id: str) -> str:
        prefix = record_id.split("x", 1)[0]
        try:
            return self.report.id_prefixes[prefix]
        except KeyError:
            raise ValueError(
                f"{record_id!r} is not a Contacts, Accounts or Leads record id of this CRM"
            ) from None

    def read_record(self, record_id: str) -> dict[str, object] | None:
        """The record as the CRM shows it now, or None where vtiger answers ACCESS_DENIED: deleted, not
        visible to the bridge's user, or created by a webservice save whose transaction is still open."""
        try:
            return dict(self.client.retrieve(record_id))
        except VtigerAccessDenied:
            return None

    def write_fields(self, record_id: str, fields: Mapping[str, str]) -> dict[str, object]:
        """`revise` only these fields; returns the record as saved."""
        return dict(self.client.revise({"id": record_id, **fields}))

    def field_type(self, module: str, field_name: str) -> str:
        return self.report.field_types.get(module, {}).get(field_name, "string")

    def social_urls(self, module: str, record: Mapping[str, object]) -> dict[str, tuple[str, str]]:
        """network -> (field, url) for the record's non-empty social URL fields."""
        found: dict[str, tuple[str, str]] = {}
        for network, field_name in self.report.url_fields.get(module, {}).items():
            value = str(record.get(field_name) or "").strip()
            if value:
                found[network] = (field_name, value)
        return found

    def owners_of(self, record_ids: Iterable[str]) -> dict[str, str]:
        """record id -> assigned_user_id, one query per module and 100 ids (deleted records are absent)."""
        by_module: dict[str, list[str]] = {}
        for record_id in sorted(set(record_ids)):
            by_module.setdefault(self.module_of(record_id), []).append(record_id)
        owners: dict[str, str] = {}
        for module, ids in by_module.items():
            for start in range(0, len(ids), 100):
                query = vtql.select(
                    module, ["id", "assigned_user_id"], where=vtql.in_("id", ids[start : start + 100]),
                    limit=100,
                )
                for row in self.client.query(query):
                    owners[str(row["id"])] = str(row.get("assigned_user_id") or "")
        return owners

    def url_field_names_of(self, module: str) -> dict[str, str]:
        return dict(self.report.url_fields.get(module, {}))

    # --- messages ---------------------------------------------------------------------------------
    def format_datetime(self, moment: dt.datetime) -> str:
        """`YYYY-MM-DD HH:MM:SS` in the CRM's time zone: the only form the messages module stores."""
        if moment.tzinfo is None:
            raise ValueError("naive datetime")
        return moment.astimezone(self.tz).strftime(VTIGER_DATETIME)

    def storable_value(self, value: str) -> str:
        """A field value as the CRM can hold it: emoji as readable names on a 3-byte-utf8 database."""
        return bmp_safe(value) if self.bmp_only is not False else value

    def storable_text(self, text: str) -> tuple[str, bool]:
        """The text as the CRM can hold it, and whether it had to be shortened."""
        if self.bmp_only is not False:
            text = bmp_safe(text)
        limit = self.messages.max_chars
        if len(text) <= limit:
            return text, False
        return text[: limit - 1].rstrip() + ELLIPSIS, True

    def find_messages(self, network: str, message_ids: Iterable[str]) -> dict[str, str]:
        """network message id -> CRM message record id, for ids already recorded in the CRM."""
        pair = self.report.status_fields.get(network)
        ids = sorted({str(m) for m in message_ids})
        if pair is None or not ids:
            return {}
        id_field = pair[1]
        found: dict[str, str] = {}
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            query = vtql.select(
                self.messages.module, ["id", id_field], where=vtql.in_(id_field, chunk), limit=100
            )
            for row in self.client.query(query):
                found.setdefault(str(row[id_field]), str(row["id"]))
        return found

    def find_outbound(
        self, message_ids: Mapping[str, str], *, when: dt.datetime | None, text: str
    ) -> str | None:
        """The CRM record of an outbound message already recorded, or None.

        By network message id (one query for all networks); failing that, when `when` is given, by the
        exact datetime the bridge wrote plus the same text (for a send that delivered nothing).
        """
        terms = []
        for network, message_id in message_ids.items():
            pair = self.report.status_fields.get(network)
            if pair and message_id:
                terms.append(vtql.eq(pair[1], message_id))
        if terms:
            query = vtql.select(self.messages.module, ["id"], where=vtql.or_(*terms), limit=1)
            rows = self.client.query(query)
            if rows:
                return str(rows[0]["id"])
        if when is None:
            return None
        stored, _ = self.storable_text(text)
        query = vtql.select(
            self.messages.module,
            ["id", "message"],
            where=vtql.and_(
                vtql.eq("message_datetime", self.format_datetime(when)),
                vtql.eq("type", self.messages.type_outbound),
            ),
            limit=100,
        )
        for row in self.client.query(query):
            # Some fields come back HTML-escaped (reference "Observed" E): compare unescaped.
            if html.unescape(str(row.get("message", ""))).strip() == stored.strip():
                return str(row["id"])
        return None

    def set_statuses(self, message_id: str, statuses: Mapping[str, tuple[str, str]]) -> None:
        fields: dict[str, str] = {"id": message_id}
        for network, (status, network_message_id) in statuses.items():
            pair = self.report.status_fields.get(network)
            if pair is not None:
                fields[pair[0]] = status
                fields[pair[1]] = network_message_id
        if len(fields) > 1:
            self.client.revise(fields)

    def create_message(
        self,
        *,
        text: str,
        inbound: bool,
        when: dt.datetime,
        owner: str,
        statuses: Mapping[str, tuple[str, str]],
    ) -> str:
        """Create one messages-module record; `statuses` is network -> (status value, message id)."""
        m = self.messages
        fields: dict[str, str] = {
            "message": text,
            "assigned_user_id": owner,
            "message_datetime": self.format_datetime(when),
            "type": m.type_inbound if inbound else m.type_outbound,
        }
        for network, (status, message_id) in statuses.items():
            pair = self.report.status_fields.get(network)
            if pair is None:
                continue  # e.g. Facebook on a 7.x install: the outcome lives in the comment/state only
            fields[pair[0]] = status
            fields[pair[1]] = message_id
        created = self.client.create(m.module, fields)
        return str(created["id"])

    def link_message(self, message_id: str, record_id: str) -> None:
        """Link from the message side, as the original module does (reference §1.4, verified live)."""
        self.client.add_related(message_id, record_id, self.module_of(record_id))

    def comment(self, record_id: str, text: str, owner: str) -> str:
        """A ModComments note on the client record (vtiger refuses one on a message record); emoji it
        quotes from the message are written as readable names where the CRM cannot store them."""
        created = self.client.create(
            "ModComments",
            {"commentcontent": self.storable_value(text), "related_to": record_id, "assigned_user_id": owner},
        )
        return str(created["id"])
