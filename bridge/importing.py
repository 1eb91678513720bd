"""Message import: newest network messages into the CRM, never lost, never twice.

One run (architecture.md "Import"):
    fetch_messages(cursor, limit) -> record them through `bridge.intake` (claim each in the ledger, match
    peers to CRM records, look them up in the CRM, create or adopt, link, ledger) -> cursor advanced LAST.
A crash anywhere re-runs the same window; the ledger claims and the CRM lookup make that harmless. A window
in which another live writer still holds some messages (another run, or a send still delivering its own) is
not passed: the next run reads it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from bridge.crm import Crm
from bridge.import_start import DEFAULT_START, parse_start
from bridge.intake import UNKNOWN_SENDER_POLICIES, ImportReport, Intake
from bridge.linking import UrlIndex
from bridge.store import Store
from providers.base import Provider

log = logging.getLogger(__name__)

__all__ = ["UNKNOWN_SENDER_POLICIES", "ImportReport", "Importer"]


class Importer:
    """Imports one network's messages; collaborators injected."""

    def __init__(
        self,
        crm: Crm,
        providers: Mapping[str, Provider],
        store: Store,
        index: UrlIndex,
        *,
        api_user_id: str,
        limit: int = 20,
        unknown_sender: str = "skip",
        start: str = DEFAULT_START,
    ) -> None:
        self.crm = crm
        self.providers = dict(providers)
        self.store = store
        self.index = index
        self.limit = limit
        self.start = parse_start(start)
        self.intake = Intake(
            crm, self.providers, store, index, api_user_id=api_user_id, unknown_sender=unknown_sender
        )
        self._locks: dict[str, threading.Lock] = {}

    @property
    def api_user_id(self) -> str:
        return self.intake.api_user_id

    @api_user_id.setter
    def api_user_id(self, value: str) -> None:
        self.intake.api_user_id = value  # known only after the daemon's login

    def run(self, network: str) -> ImportReport:
        # Two runs of one network at once (the schedule and a wake-up) would only find each other's claims
        # busy and read their window twice; runs of different networks may overlap.
        with self._locks.setdefault(network, threading.Lock()):
            return self._run(network)

    def _run(self, network: str) -> ImportReport:
        provider = self.providers[network]
        store = self.store
        report = ImportReport(network)
        cursor = store.get_cursor(network)
        if cursor is None:  # the first import: start where configured, and remember it before fetching
            cursor = provider.start_cursor(self.start.days)
            store.set_cursor(network, cursor)
        messages, new_cursor = provider.fetch_messages(cursor, self.limit)
        report.fetched = len(messages)
        if not messages:
            store.set_cursor(network, new_cursor)
            return report
        if self.intake.record(network, messages, report):
            store.set_cursor(network, new_cursor)
        else:
            log.info(
                "%s import: %d message(s) are being recorded by another run or by the send that delivered "
                "them; this window is read again",
                network,
                report.busy,
            )
        return report
