"""Where the webhook puts an accepted event: the events table, then a wake-up for the worker.

The path of a workflow event: `endpoint.make_app` (signature, body, `Event`) -> `EventInbox.accept` (stored,
committed before the 2xx) -> `EventWorker` (its thread, woken) -> `EventProcessor.process_pending` (acted on
against the record as the CRM shows it) -> `FieldSends` / `ProfileImporter` / `UrlIndex` -> for a send,
`Sender.enqueue` writes the outbox and wakes the outbox workers.
"""

from __future__ import annotations

from bridge.store import WebhookEvents
from bridge.webhook.events import Event
from bridge.webhook.worker import EventWorker


class EventInbox:
    """`accept` for `make_app`: store the event durably, then wake the worker that processes it."""

    def __init__(self, events: WebhookEvents, worker: EventWorker) -> None:
        self.events = events
        self.worker = worker

    def accept(self, event: Event) -> bool:
        """True for an event seen for the first time (stored now), False for a duplicate event id."""
        fresh = self.events.remember(event.event_id, event.event, event.to_payload())
        if fresh:
            self.worker.wake()
        return fresh
