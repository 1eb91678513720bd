"""The bridge's own recent writes to CRM records, so that the workflow events they fire are known as echoes.

Clearing the send field and a profile import's `revise` fire the record's workflows again. An event is an
echo when every field it says changed (vtiger's meta fields aside) is one the bridge itself wrote to that
record within `ECHO_WINDOW_SECONDS`, with the value it wrote. Kept in the state file (`echo.<record>` in
`kv`), so a restart between a write and its echo does not turn the echo into new work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from bridge.crm.schema import META_FIELDS  # vtiger's change list names them with any write
from bridge.crm.values import same_value
from bridge.store import KeyValues
from bridge.webhook.events import Event

ECHO_WINDOW_SECONDS = 600.0
_KEY = "echo."


def changed_fields(changed: list[str] | dict[str, Any] | None) -> set[str]:
    """The names of the fields an event says the save changed."""
    if changed is None:
        return set()
    return {str(name) for name in (changed.keys() if isinstance(changed, dict) else changed)}


class OwnWrites:
    """What the bridge wrote to which record lately (see the module docstring)."""

    def __init__(self, kv: KeyValues, clock: Callable[[], float] = time.time) -> None:
        self.kv = kv
        self.clock = clock

    def recent(self, record_id: str) -> dict[str, tuple[str | None, float]]:
        """field -> (value written or None when unknown, when) for the bridge's recent writes."""
        stored: Mapping[str, Any] = self.kv.get(_KEY + record_id, {}) or {}
        now = self.clock()
        recent: dict[str, tuple[str | None, float]] = {}
        for name, entry in stored.items():
            value, at = (entry[0], float(entry[1])) if isinstance(entry, list) else (None, float(entry))
            if now - at < ECHO_WINDOW_SECONDS:
                recent[name] = (value, at)
        return recent

    def remember(self, record_id: str, fields: Mapping[str, str]) -> None:
        """Note a write before it is made (its workflow may fire before the write returns)."""
        now = self.clock()
        recent = self.recent(record_id)
        written: dict[str, Any] = {name: [value, at] for name, (value, at) in recent.items()}
        written.update({name: [str(value), now] for name, value in fields.items()})
        self.kv.set(_KEY + record_id, written)

    def is_echo(self, event: Event) -> bool:
        changed = changed_fields(event.changed)
        if not changed:
            return False
        recent = self.recent(event.record_id)
        for name in changed - META_FIELDS:
            if name not in recent:
                return False
            written = recent[name][0]
            if written is not None and name in event.data and not same_value(event.data[name], written):
                return False  # someone else changed the field after the bridge wrote it
        return True
