"""Message import: newest network messages into the CRM, never lost, never twice.

One run (architecture.md "Import"):
    fetch_messages(cursor, limit) -> drop what the ledger knows (imported before, or sent by us)
    -> match each peer to CRM records through the URL index (refreshed once if a peer is unknown)
    -> drop what the CRM already holds (lookup by network message id, batched) -> create one messages
    record per message, linked to every matching record -> ledger -> cursor advanced LAST.
A crash anywhere re-runs the same window; the ledger and the CRM lookup make that harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from bridge.crm import Crm
from bridge.linking import UrlIndex
from bridge.store import Store
from providers.base import Direction, NetworkMessage, ProfileRef, Provider

log = logging.getLogger(__name__)

UNKNOWN_SENDER_POLICIES = ("skip", "create_lead")
# One client record created at a time in this process, whichever network's run asks. vtiger serialises
# creates on one row lock anyway, and those that overlap get duplicate auto-numbers (two Leads with the
# same lead_no; measured on a real SalesPlatform 7.2, sandbox/vtiger/latency.py). Process-wide rather than
# per Importer: the daemon builds one Importer per network (bridge/wiring.py) and their runs overlap in
# the scheduler's threads. Another process (a manual `import-messages` next to the daemon) is not covered;
# what it risks is a duplicate number, not a lost or doubled message.
_CLIENT_RECORD_CREATION = threading.Lock()


@dataclass
class ImportReport:
    network: str
    fetched: int = 0
    created: int = 0
    already_known: int = 0
    unknown_sender: int = 0
    leads_created: int = 0
    errors: list[str] = field(default_factory=list)


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
    ) -> None:
        if unknown_sender not in UNKNOWN_SENDER_POLICIES:
            raise ValueError(
                f"unknown_sender must be one of {UNKNOWN_SENDER_POLICIES}, not {unknown_sender!r}"
            )
        self.crm = crm
        self.providers = dict(providers)
        self.store = store
        self.index = index
        self.api_user_id = api_user_id
        self.limit = limit
        self.unknown_sender = unknown_sender
        self._locks: dict[str, threading.Lock] = {}

    def run(self, network: str) -> ImportReport:
        # Two runs of one network at once (the schedule and a CLI/wake-up) would both create the same
        # messages; runs of different networks may overlap.
        with self._locks.setdefault(network, threading.Lock()):
            return self._run(network)

    def _run(self, network: str) -> ImportReport:
        provider = self.providers[network]
        store = self.store
        report = ImportReport(network)
        cursor = store.get_cursor(network)
        messages, new_cursor = provider.fetch_messages(cursor, self.limit)
        report.fetched = len(messages)
        if not messages:
            store.set_cursor(network, new_cursor)
            return report
        known = store.ledger_entries(network, [m.message_id for m in messages])
        # Skip what is recorded, and what the outbox sent (the send records it, even when its CRM step is
        # still to come). An import reservation without a CRM id is a crash between reserve and create:
        # take it again; the CRM lookup below finds the record if the create did happen.
        fresh = [
            m
            for m in messages
            if m.message_id not in known
            or (known[m.message_id][0] is None and known[m.message_id][1] == "import")
        ]
        report.already_known = len(messages) - len(fresh)
        matches = self._match(network, fresh)
        in_crm = self.crm.find_messages(network, [m.message_id for m in fresh]) if fresh else {}
        owners = self.crm.owners_of({r for records in matches.values() for _, r in records})
        for message in fresh:
            records = matches.get(message.peer_id, [])
            if not records and self.unknown_sender == "create_lead" and message.direction is Direction.IN:
                records = self._create_lead(provider, message, report)
            if not records:
                report.unknown_sender += 1
                continue
            crm_id = in_crm.get(message.message_id)
            if crm_id is None:
                store.ledger_reserve(network, message.message_id, "import")
                owner = owners.get(records[0][1]) or self.api_user_id
                crm_id = self._create(message, owner)
                report.created += 1
            else:
                report.already_known += 1
            for _module, record_id in records:
                self.crm.link_message(crm_id, record_id)  # add_related never duplicates a pair
            store.ledger_set_crm_id(network, message.message_id, crm_id)
        store.set_cursor(network, new_cursor)
        return report

    def _match(self, network: str, messages: list[NetworkMessage]) -> dict[str, list[tuple[str, str]]]:
        peers = {m.peer_id for m in messages}
        matches: dict[str, list[tuple[str, str]]] = {p: self.index.records_for(network, p) for p in peers}
        if any(not records for records in matches.values()):
            # Someone may have just typed this client's link into the CRM.
            self.index.refresh()
            matches = {p: self.index.records_for(network, p) for p in peers}
        return matches

    def _create(self, message: NetworkMessage, owner: str) -> str:
        m = self.crm.messages
        inbound = message.direction is Direction.IN
        text, _ = self.crm.storable_text(self._text(message))
        status = m.status_received if inbound else m.status_sent
        return self.crm.create_message(
            text=text,
            inbound=inbound,
            when=message.sent_at,
            owner=owner,
            statuses={message.network: (status, message.message_id)},
        )

    @staticmethod
    def _text(message: NetworkMessage) -> str:
        parts = [message.text] if message.text else []
        parts += [f"[{a}]" for a in message.attachments]
        return "\n".join(parts) or "[empty message]"

    def _create_lead(
        self, provider: Provider, message: NetworkMessage, report: ImportReport
    ) -> list[tuple[str, str]]:
        profile = provider.fetch_profiles([message.peer_id]).get(message.peer_id)
        url_field = self.crm.url_field_names_of("Leads").get(message.network)
        if profile is None or url_field is None:
            return []
        # Facebook only knows people by their Page-scoped id; the other networks by their account id.
        kind = "psid" if message.network == "facebook" else "id"
        url = provider.profile_url(ProfileRef(message.network, kind, message.peer_id))
        fields = {
            "lastname": profile.last_name or profile.full_name or f"{message.network} {message.peer_id}",
            "firstname": profile.first_name or "",
            url_field: url,
            "assigned_user_id": self.api_user_id,
        }
        with _CLIENT_RECORD_CREATION:
            known = self.index.records_for(message.network, message.peer_id)
            if known:  # created while this run waited (or for an earlier message of the same sender)
                return known
            created = self.crm.client.create("Leads", fields)
            report.leads_created += 1
            self.index.refresh()
        return [("Leads", str(created["id"]))]
