"""The messages module and comments: the part of `Crm` that writes and finds message records.

`Crm` (bridge/crm/gateway.py) inherits these methods; they are kept here so each file holds one concern.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from zoneinfo import ZoneInfo

from bridge.crm import schema
from bridge.crm.schema import ID, OWNER, VTIGER_DATETIME, MessagesLayout, SchemaReport
from bridge.crm.values import bmp_safe, same_text, shorten
from vtiger_ws import VtigerClient, vtql


class MessageRecords:
    """Message records and comments (mixed into `Crm`, which provides the attributes declared here)."""

    client: VtigerClient
    messages: MessagesLayout
    tz: ZoneInfo
    bmp_only: bool | None

    @property
    def report(self) -> SchemaReport:  # pragma: no cover - provided by Crm
        raise NotImplementedError

    def module_of(self, record_id: str) -> str:  # pragma: no cover - provided by Crm
        raise NotImplementedError

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
        return shorten(self.storable_value(text), self.messages.max_chars)

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
                self.messages.module, [ID, id_field], where=vtql.in_(id_field, chunk), limit=100
            )
            for row in self.client.query(query):
                found.setdefault(str(row[id_field]), str(row[ID]))
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
            rows = self.client.query(vtql.select(self.messages.module, [ID], where=vtql.or_(*terms), limit=1))
            if rows:
                return str(rows[0][ID])
        if when is None:
            return None
        stored, _ = self.storable_text(text)
        where = vtql.and_(
            vtql.eq(schema.MESSAGE_DATETIME, self.format_datetime(when)),
            vtql.eq(schema.MESSAGE_TYPE, self.messages.type_outbound),
        )
        query = vtql.select(self.messages.module, [ID, schema.MESSAGE_TEXT], where=where, limit=100)
        for row in self.client.query(query):
            if same_text(row.get(schema.MESSAGE_TEXT, ""), stored):
                return str(row[ID])
        return None

    def _status_values(self, statuses: Mapping[str, tuple[str, str]]) -> dict[str, str]:
        fields: dict[str, str] = {}
        for network, (status, network_message_id) in statuses.items():
            pair = self.report.status_fields.get(network)
            if (
                pair is not None
            ):  # e.g. Facebook on a 7.x install: the outcome lives in the comment/state only
                fields[pair[0]] = status
                fields[pair[1]] = network_message_id
        return fields

    def set_statuses(self, message_id: str, statuses: Mapping[str, tuple[str, str]]) -> None:
        fields = self._status_values(statuses)
        if fields:
            self.client.revise({ID: message_id, **fields})

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
            schema.MESSAGE_TEXT: text,
            OWNER: owner,
            schema.MESSAGE_DATETIME: self.format_datetime(when),
            schema.MESSAGE_TYPE: m.type_inbound if inbound else m.type_outbound,
            **self._status_values(statuses),
        }
        return str(self.client.create(m.module, fields)[ID])

    def link_message(self, message_id: str, record_id: str) -> None:
        """Link from the message side, as SalesPlatform's own module does (add_related never duplicates)."""
        self.client.add_related(message_id, record_id, self.module_of(record_id))

    def comment(self, record_id: str, text: str, owner: str) -> str:
        """A ModComments note on the client record (vtiger refuses one on a message record); emoji it
        quotes from the message are written as readable names where the CRM cannot store them."""
        text = self.storable_value(text)
        fields = {schema.COMMENT_TEXT: text, schema.COMMENT_RECORD: record_id, OWNER: owner}
        return str(self.client.create(schema.COMMENT_MODULE, fields)[ID])
