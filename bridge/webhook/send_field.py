"""The "send message" workflow: a text typed into the record's send field goes out once, then the field is
emptied.

One place names the field: the bridge's `fields.outgoing_text_field`. The text is the field's value as the
save that fired the workflow left it (the event's `data`), so a later change of the field, or the bridge's
own clearing, never loses or alters it. The field is emptied with `revise` once the send is queued, and
only if it still holds that text (a newer text typed meanwhile is left for its own event).

A workflow fires on every save while the field is not empty, so the same text arrives again with every save
that happens before the field is cleared (an edit of the title, the bridge's own profile import) and can
arrive after it (events are processed later than they are sent). Each record keeps the last text it queued
(`sendfield.<record>` in `kv`: a hash of the text, the outbox id, the saved time, when the field was
cleared); the same text is sent again only from a save made after the field was cleared.
"""

from __future__ import annotations

import hashlib
import html
import logging
from collections.abc import Mapping
from typing import Any

from bridge.crm import Crm
from bridge.crm.values import same_value
from bridge.services.sending import Sender, SendRefused, SendRequest
from bridge.store import KeyValues
from bridge.webhook.echoes import OwnWrites
from bridge.webhook.events import Event

log = logging.getLogger(__name__)

_STATE = "sendfield."


def text_key(record_id: str, field_name: str, text: str) -> str:
    digest = hashlib.sha256(f"{record_id}\0{field_name}\0{text.strip()}".encode()).hexdigest()
    return digest[:32]


class FieldSends:
    def __init__(
        self,
        *,
        crm: Crm,
        sender: Sender,
        kv: KeyValues,
        text_field: str,
        networks_field: str,
        own_writes: OwnWrites,
    ) -> None:
        self.crm = crm
        self.sender = sender
        self.kv = kv
        self.text_field = text_field
        self.networks_field = networks_field
        self.own_writes = own_writes

    def handle(self, event: Event, record: Mapping[str, object]) -> None:
        """Queue the send `event` asks for; `record` is the CRM's record, at least as new as the event."""
        networks = self._networks(event, record)
        field_text = self._field_text(event, record)
        own_text = bool(event.text and event.text.strip())
        if event.text and own_text and (field_text is None or not same_value(event.text, field_text)):
            # A command carrying its own text (a Cloud webhook's `text` parameter): sent as it is.
            request = SendRequest(
                event.record_id,
                event.text,
                networks=networks,
                event_id=event.event_id,
                requested_by="workflow",
            )
            self.sender.enqueue(request, record=record)
            return
        if field_text is None:
            raise SendRefused(
                f"a 'send' event for {event.record_id} carries no text and fields.outgoing_text_field is not "
                "set: set it to the record field the send workflow watches"
            )
        if not field_text.strip():
            # Normal between sends, e.g. the workflow fired again for the bridge's own clearing.
            log.info(
                "event %s: %s of %s is empty, nothing to send",
                event.event_id,
                self.text_field,
                event.record_id,
            )
            return
        saved_at = event.modifiedtime or self.crm.modified_at(record)
        key = text_key(event.record_id, self.text_field, field_text)
        state: dict[str, Any] | None = self.kv.get(_STATE + event.record_id)
        cleared_at = str(state.get("cleared_at") or "") if state else ""
        if state and state.get("key") == key and (not cleared_at or saved_at <= cleared_at):
            log.info(
                "event %s: %s of %s still holds the text queued as send %s; not sent again",
                event.event_id,
                self.text_field,
                event.record_id,
                state.get("outbox_id"),
            )
            if not cleared_at:
                # An earlier attempt queued it but did not clear the field.
                self._clear(event.record_id, field_text, state)
            return
        outbox_id = self.sender.enqueue(
            SendRequest(
                event.record_id,
                field_text,
                networks=networks,
                event_id=event.event_id,
                requested_by="workflow",
            ),
            record=record,
        )
        state = {"key": key, "outbox_id": outbox_id, "saved_at": saved_at, "cleared_at": ""}
        self.kv.set(_STATE + event.record_id, state)
        self._clear(event.record_id, field_text, state)

    def _field_text(self, event: Event, record: Mapping[str, object]) -> str | None:
        if not self.text_field:
            return None
        if self.text_field in event.data:  # the value this save left (workflow data is HTML-decoded)
            return str(event.data[self.text_field] or "")
        return html.unescape(str(record.get(self.text_field) or ""))  # data too large to travel: read

    def _networks(self, event: Event, record: Mapping[str, object]) -> tuple[str, ...] | None:
        if event.networks is not None or not self.networks_field:
            return event.networks
        source = event.data if self.networks_field in event.data else record
        raw = str(source.get(self.networks_field) or "")
        names = tuple(n.strip().lower() for n in raw.replace(";", ",").split(",") if n.strip())
        return names or None

    def _clear(self, record_id: str, text: str, state: dict[str, Any]) -> None:
        """Empty the field if it still holds `text` (read right before the write); note when it ended."""
        current = self.crm.read_record(record_id)
        if current is None:
            return
        if same_value(current.get(self.text_field), text):
            self.own_writes.remember(record_id, {self.text_field: ""})
            current = self.crm.write_fields(record_id, {self.text_field: ""})
        state["cleared_at"] = self.crm.modified_at(current) or "0"
        self.kv.set(_STATE + record_id, state)
