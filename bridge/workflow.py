"""What the bridge does with an accepted vtiger event (the webhook only stores it).

- `send`: the text comes from the event or from the configured "outgoing message" field of the record
  (cleared with `revise` once the send is queued); the networks from the event or a configured field.
- `import_profile`: import the record's profile(s) into its empty fields.
- `record_saved`: when a social URL field changed, update the URL index and import the profile.

The bridge's own writes (clearing the outgoing field, profile `revise`s) fire the same workflows again.
Such echoes are recognised — the fields the event says changed are all fields the bridge itself wrote to
that record moments ago — and ignored, so no event ever loops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bridge.events import Event
from bridge.linking import UrlIndex
from bridge.profiles import ProfileImporter
from bridge.sending import Sender, SendRefused, SendRequest
from bridge.store import Store

log = logging.getLogger(__name__)

ECHO_WINDOW_SECONDS = 600.0
_ECHO_KEY = "echo."


class EventProcessor:
    """Turns stored webhook events into work; every collaborator injected."""

    def __init__(
        self,
        *,
        store: Store,
        sender: Sender,
        profiles: ProfileImporter,
        index: UrlIndex,
        outgoing_text_field: str = "",
        outgoing_networks_field: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sender = sender
        self.profiles = profiles
        self.index = index
        self.text_field = outgoing_text_field
        self.networks_field = outgoing_networks_field
        self.clock = clock

    # --- echo bookkeeping ------------------------------------------------------------------------
    def remember_own_write(self, record_id: str, fields: Iterable[str]) -> None:
        key = _ECHO_KEY + record_id
        written: dict[str, float] = dict(self.store.kv_get(key, {}) or {})
        now = self.clock()
        written = {f: t for f, t in written.items() if now - t < ECHO_WINDOW_SECONDS}
        written.update(dict.fromkeys(fields, now))
        self.store.kv_set(key, written)

    def is_echo(self, event: Event) -> bool:
        changed = _changed_fields(event.changed)
        if not changed:
            return False
        written: Mapping[str, float] = self.store.kv_get(_ECHO_KEY + event.id, {}) or {}
        now = self.clock()
        recent = {f for f, t in written.items() if now - t < ECHO_WINDOW_SECONDS}
        # vtiger's delta always lists modifiedtime/modifiedby alongside what we wrote.
        return changed - {"modifiedtime", "modifiedby", "label"} <= recent

    # --- processing --------------------------------------------------------------------------------
    def process_pending(self, limit: int = 100) -> int:
        """Handle stored events in arrival order; returns how many were handled."""
        handled = 0
        for stored in self.store.pending_events(limit):
            event = Event(**_event_kwargs(stored.payload))
            error: str | None = None
            try:
                self.handle(event)
            except SendRefused as exc:
                error = str(exc)
                log.warning("event %s refused: %s", event.event_id, exc)
            self.store.mark_event_done(event.event_id, error)
            handled += 1
        return handled

    def handle(self, event: Event) -> None:
        if self.is_echo(event):
            log.info("event %s is the echo of the bridge's own write; ignored", event.event_id)
            return
        if event.event == "send":
            self._send(event)
        elif event.event == "import_profile":
            self._import_profile(event)
        elif event.event == "record_saved":
            self._record_saved(event)

    def _send(self, event: Event) -> None:
        text = event.text
        from_field = False
        if not text and self.text_field:
            record = self.sender.crm.client.retrieve(event.id)
            text = str(record.get(self.text_field) or "")
            from_field = bool(text.strip())
        if not text or not text.strip():
            # An empty outgoing field is the normal state between sends, not an error.
            log.info("event %s: nothing to send for %s", event.event_id, event.id)
            return
        networks = event.networks
        if networks is None and self.networks_field:
            raw = str(event.data.get(self.networks_field) or "")
            names = tuple(n.strip().lower() for n in raw.replace(";", ",").split(",") if n.strip())
            networks = names or None
        self.sender.enqueue(
            SendRequest(event.id, text, networks=networks, event_id=event.event_id, requested_by="workflow")
        )
        if from_field:
            self.remember_own_write(event.id, [self.text_field])
            self.sender.crm.client.revise({"id": event.id, self.text_field: ""})

    def _import_profile(self, event: Event) -> None:
        report = self.profiles.import_record(event.id)
        if report.written:
            self.remember_own_write(event.id, report.written)

    def _record_saved(self, event: Event) -> None:
        module = self.sender.crm.module_of(event.id)
        url_fields = set(self.sender.crm.url_field_names_of(module).values())
        changed = _changed_fields(event.changed)
        if changed and not changed & url_fields:
            return
        before = {row.field: row.url for row in self.store.index_rows_of(event.id)}
        self.index.refresh_record(event.id)
        after = {row.field: row.url for row in self.store.index_rows_of(event.id)}
        if (before != after or changed & url_fields) and after:
            self._import_profile(event)


def _changed_fields(changed: list[str] | dict[str, Any] | None) -> set[str]:
    if changed is None:
        return set()
    return {str(name) for name in (changed.keys() if isinstance(changed, dict) else changed)}


def _event_kwargs(payload: Mapping[str, Any]) -> dict[str, Any]:
    networks = payload.get("networks")
    return {
        "event": payload["event"],
        "module": payload["module"],
        "id": payload["id"],
        "event_id": payload["event_id"],
        "ts": float(payload.get("ts") or 0.0),
        "data": dict(payload.get("data") or {}),
        "changed": payload.get("changed"),
        "text": payload.get("text"),
        "networks": tuple(networks) if networks is not None else None,
    }
