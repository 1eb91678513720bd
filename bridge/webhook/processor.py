"""What the bridge does with an accepted vtiger event (the webhook only stores it).

- `send`: queue the text of the record's send field (see bridge/webhook/send_field.py), or the event's own
  text.
- `import_profile`: import the record's profile(s) into its empty fields.
- `record_saved`: when a social URL field changed (or the record is new), update the URL index and import
  the profile.
- `invite`: issue an invitation link of each bot named (every enabled one by default) and write the links
  into the record's field `fields.invitation_field`, for an e-mail or SMS workflow to send.

Every event is acted on against the record as the CRM shows it *after* the save the event is about
(bridge/webhook/freshness.py). Until the CRM shows that save, the event waits in the store and is tried again
(2 s, 5 s, … then every minute); after `visibility_window` it is closed with a readable error, and a record
the CRM never showed (ACCESS_DENIED throughout) is taken out of the link index as deleted. Nothing is
dropped without a line in the log and the error kept with the event (`Store.event_failures`).

The bridge's own writes (clearing the send field, profile `revise`s) fire the same workflows again. Such
echoes are recognised — every field the event says changed is one the bridge itself wrote to that record
moments ago, with the value it wrote — and ignored, so no event ever loops.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping

from bridge.services.invitations import Inviter
from bridge.services.linking import UrlIndex
from bridge.services.profiles import ProfileImporter
from bridge.services.sending import Sender, SendRefused
from bridge.store import WebhookEvents
from bridge.webhook.echoes import OwnWrites, changed_fields
from bridge.webhook.events import Event
from bridge.webhook.freshness import (
    VISIBILITY_WINDOW_SECONDS,
    NotVisibleYet,
    check_saved_state,
    retry_delay,
)
from bridge.webhook.send_field import FieldSends

log = logging.getLogger(__name__)


class EventProcessor:
    """Turns stored webhook events into work; every collaborator injected."""

    def __init__(
        self,
        *,
        events: WebhookEvents,
        own_writes: OwnWrites,
        sender: Sender,
        profiles: ProfileImporter,
        index: UrlIndex,
        outgoing_text_field: str = "",
        outgoing_networks_field: str = "",
        inviter: Inviter | None = None,
        invitation_field: str = "",
        clock: Callable[[], float] = time.time,
        visibility_window: float = VISIBILITY_WINDOW_SECONDS,
    ) -> None:
        self.events = events
        self.own_writes = own_writes
        self.sender = sender
        self.crm = sender.crm
        self.profiles = profiles
        self.index = index
        self.text_field = outgoing_text_field
        self.networks_field = outgoing_networks_field
        self.inviter = inviter
        self.invitation_field = invitation_field
        self.clock = clock
        self.visibility_window = visibility_window
        self.sends = FieldSends(
            crm=self.crm,
            sender=sender,
            kv=own_writes.kv,
            text_field=outgoing_text_field,
            networks_field=outgoing_networks_field,
            own_writes=own_writes,
        )

    @property
    def clock(self) -> Callable[[], float]:
        """Time of events and of the bridge's own writes (one clock, so tests freeze both)."""
        return self._clock

    @clock.setter
    def clock(self, value: Callable[[], float]) -> None:
        self._clock = value
        self.own_writes.clock = value

    # --- processing --------------------------------------------------------------------------------
    def process_pending(self, limit: int = 100) -> int:
        """Handle the due events in arrival order; returns how many were closed (done or failed)."""
        handled = 0
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        waiting: set[str] = set()
        for stored in self.events.due(now, limit):
            event = Event.from_payload(stored.payload)
            if event.record_id in waiting:
                continue  # an earlier event of this record waits for the CRM: keep their order
            error: str | None = None
            try:
                self.handle(event)
            except NotVisibleYet as exc:
                if (now - stored.received_at).total_seconds() < self.visibility_window:
                    delay = retry_delay(stored.attempts)
                    self.events.defer(event.event_id, now + dt.timedelta(seconds=delay), str(exc))
                    log.info(
                        "event %s (%s %s) waits: %s; next try in %.0f s",
                        event.event_id,
                        event.event,
                        event.record_id,
                        exc,
                        delay,
                    )
                    waiting.add(event.record_id)
                    continue
                error = self._give_up(event, exc)
            except (SendRefused, ValueError) as exc:  # about the event itself: retrying cannot help
                error = str(exc)
                log.warning(
                    "event %s (%s %s) not carried out: %s", event.event_id, event.event, event.record_id, exc
                )
            self.events.mark_done(event.event_id, error)
            handled += 1
        return handled

    def _give_up(self, event: Event, exc: NotVisibleYet) -> str:
        minutes = f"{self.visibility_window / 60:g} minutes"
        if exc.missing:
            self.index.forget_record(event.record_id)
            error = (
                f"record {event.record_id} could not be read for {minutes} (vtiger answers ACCESS_DENIED): "
                "deleted, or not visible to the bridge's CRM user; taken out of the link index, event not "
                "carried out"
            )
        else:
            error = f"{exc} for {minutes}; event not carried out (was the save rolled back?)"
        log.warning("event %s (%s %s): %s", event.event_id, event.event, event.record_id, error)
        return error

    def handle(self, event: Event) -> None:
        """Carry out one event; raises NotVisibleYet while the CRM does not show its save."""
        if self.own_writes.is_echo(event):
            log.info("event %s is the echo of the bridge's own write; ignored", event.event_id)
            return
        if event.event == "send":
            self.sends.handle(event, self._read_saved(event))
        elif event.event == "import_profile":
            self._import_profile(event, self._read_saved(event))
        elif event.event == "record_saved":
            self._record_saved(event)
        elif event.event == "invite":
            self._invite(event)

    def _read_saved(self, event: Event) -> Mapping[str, object]:
        """The record, at least as new as the save `event` is about (else NotVisibleYet)."""
        module = self.crm.module_of(event.record_id)
        fields = {*self.crm.url_field_names_of(module).values(), self.text_field, self.networks_field} - {""}
        # The bridge's own later write may have replaced them.
        fields -= set(self.own_writes.recent(event.record_id))
        return check_saved_state(event, self.crm.read_record(event.record_id), fields)

    def _import_profile(self, event: Event, record: Mapping[str, object]) -> None:
        report = self.profiles.import_record(event.record_id, record=record)
        if report.written:
            self.own_writes.remember(event.record_id, report.written)

    def _record_saved(self, event: Event) -> None:
        self.sender.owners.forget(event.record_id)  # the save may have given the client another owner
        module = self.crm.module_of(event.record_id)
        url_fields = set(self.crm.url_field_names_of(module).values())
        changed = changed_fields(event.changed)
        if changed and not changed & url_fields:
            return
        record = self._read_saved(event)
        before = {row.field: row.url for row in self.index.rows_of(event.record_id)}
        self.index.index_record(event.record_id, record)
        after = {row.field: row.url for row in self.index.rows_of(event.record_id)}
        if (before != after or changed & url_fields) and after:
            self._import_profile(event, record)

    def _invite(self, event: Event) -> None:
        """Links for the bots the event names (every enabled one when it names none), into the field."""
        if self.inviter is None or not self.invitation_field:
            raise ValueError(
                "an invite event needs fields.invitation_field in the bridge's configuration: the CRM field "
                "the invitation links are written into"
            )
        bots = [n for n, p in self.inviter.providers.items() if hasattr(p, "invitation_link")]
        networks = list(event.networks) if event.networks else bots
        if not networks:
            raise ValueError("an invite event needs Telegram or MAX enabled in the bridge's configuration")
        self._read_saved(event)  # a record just created may not be committed yet: wait for it, as for a send
        links = [self.inviter.invite(event.record_id, network).link for network in networks]
        written = {self.invitation_field: "\n".join(links)}
        self.crm.write_and_compare(event.record_id, written)
        self.own_writes.remember(event.record_id, written)  # its workflow echo is not a new event
