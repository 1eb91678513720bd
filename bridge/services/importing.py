"""Message import: newest network messages into the CRM, never lost, never twice.

One run (docs/architecture.md, "The path of an import"):
    fetch_messages(cursor, limit) -> record them through `bridge.services.intake` (claim each in the
    ledger, match peers to CRM records, look them up in the CRM, create or adopt, link, ledger)
    -> cursor advanced LAST.
A crash anywhere re-runs the same window; the ledger claims and the CRM lookup make that harmless. A window
in which another live writer still holds some messages (another run, or a send still delivering its own) is
not passed: the next run reads it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence

from bridge.config.import_start import DEFAULT_START, parse_start
from bridge.crm import Crm
from bridge.services.intake import UNKNOWN_SENDER_POLICIES, ImportReport, Intake
from bridge.services.linking import UrlIndex
from bridge.store import ImportCursors, Ledger
from providers.base import BotEvent, LongPolling, Provider

log = logging.getLogger(__name__)

__all__ = ["UNKNOWN_SENDER_POLICIES", "ImportReport", "Importer"]


EventHandler = Callable[[str, Sequence[BotEvent]], None]


class Importer:
    """Imports one network's messages; collaborators injected.

    A bot (a `LongPolling` provider) given `on_events` is read with `poll_updates`, and the poll's Start/Stop
    events go to `on_events` before its messages are recorded (a Start links its sender, so a message that
    came right after it in the same poll finds its record); the cursor advances only after both.
    """

    on_events: EventHandler | None = None

    def __init__(
        self,
        crm: Crm,
        providers: Mapping[str, Provider],
        cursors: ImportCursors,
        ledger: Ledger,
        index: UrlIndex,
        *,
        api_user_id: str | None = None,
        limit: int = 20,
        unknown_sender: str = "skip",
        start: str = DEFAULT_START,
    ) -> None:
        self.crm = crm
        self.providers = dict(providers)
        self.cursors = cursors
        self.index = index
        self.limit = limit
        self.start = parse_start(start)
        self.intake = Intake(
            crm, self.providers, ledger, index, api_user_id=api_user_id, unknown_sender=unknown_sender
        )
        self._locks: dict[str, threading.Lock] = {}

    @property
    def unknown_sender(self) -> str:
        """What a message from a person no CRM record links to becomes ("skip" or "create_lead")."""
        return self.intake.unknown_sender

    @unknown_sender.setter
    def unknown_sender(self, policy: str) -> None:  # a reloaded configuration changes it
        if policy not in UNKNOWN_SENDER_POLICIES:
            raise ValueError(f"unknown_sender must be one of {UNKNOWN_SENDER_POLICIES}, not {policy!r}")
        self.intake.unknown_sender = policy

    def run(self, network: str) -> ImportReport:
        # Two runs of one network at once (the schedule and a wake-up) would only find each other's claims
        # busy and read their window twice; runs of different networks may overlap.
        with self._locks.setdefault(network, threading.Lock()):
            return self._run(network)

    def _run(self, network: str) -> ImportReport:
        provider = self.providers[network]
        cursors = self.cursors
        report = ImportReport(network)
        cursor = cursors.get(network)
        if cursor is None:  # the first import: start where configured, and remember it before fetching
            cursor = provider.start_cursor(self.start.days)
            cursors.set(network, cursor)
        if self.on_events is not None and isinstance(provider, LongPolling):
            polled = provider.poll_updates(cursor, 0)
            messages, new_cursor = polled.messages, polled.next_offset
            if polled.events:
                self.on_events(network, polled.events)  # raising keeps the cursor: the poll comes again
        else:
            messages, new_cursor = provider.fetch_messages(cursor, self.limit)
        report.fetched = len(messages)
        if not messages:
            cursors.set(network, new_cursor)
            return report
        if self.intake.record(network, messages, report):
            cursors.set(network, new_cursor)
        else:
            log.info(
                "%s import: %d message(s) are being recorded by another run or by the send that delivered "
                "them; this window is read again",
                network,
                report.busy,
            )
        return report
