"""Recording network messages in the CRM, one writer per message whatever path saw it first.

Every path that brings messages in goes through `Intake.record`: the scheduled import today, a VK long-poll
listener tomorrow. The outbox records its own deliveries (`bridge.services.sending`) under the same ledger
rules (`bridge.store.ledger`):

    claim every message in the ledger -> for the ones this run holds: match the peer to CRM records through
    the URL index -> look them up in the CRM by network message id (batched) -> create the record, or adopt
    the one found (a new state file, a writer that died after its create) -> link it to every matching
    record -> record it in the ledger -> release what was not recorded.

Messages recorded before and messages a send delivered are left alone (the send records them); messages
another live writer is recording, and our own messages to someone a send is still delivering to (they may be
that send's, not marked yet), are counted as `busy`, so the caller reads them again later.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bridge.crm import Crm
from bridge.crm.errors import answered
from bridge.services.linking import UrlIndex
from bridge.store import Ledger
from providers.base import Direction, NetworkMessage, ProfileRef, Provider

log = logging.getLogger(__name__)

UNKNOWN_SENDER_POLICIES = ("skip", "create_lead")
# One client record created at a time in this process, whichever network's run asks. vtiger serialises
# creates on one row lock anyway, and those that overlap get duplicate auto-numbers (two Leads with the
# same lead_no; measured on a real SalesPlatform 7.2, sandbox/vtiger/latency.py). Process-wide rather than
# per Intake: the daemon records each network's messages from its own thread (the scheduler's import runs
# overlap). Another process (a manual `import-messages` next to the daemon) is not covered; what it risks is
# a duplicate number, not a lost or doubled message.
_CLIENT_RECORD_CREATION = threading.Lock()


@dataclass
class ImportReport:
    network: str
    fetched: int = 0
    created: int = 0
    already_known: int = 0  # recorded before, sent by the bridge, or found in the CRM and adopted
    unknown_sender: int = 0
    leads_created: int = 0
    busy: int = 0  # another live writer holds them: this run's window must be read again
    errors: list[str] = field(default_factory=list)


class Intake:
    """Records network messages in the CRM; collaborators injected."""

    def __init__(
        self,
        crm: Crm,
        providers: Mapping[str, Provider],
        ledger: Ledger,
        index: UrlIndex,
        *,
        api_user_id: str | None = None,
        unknown_sender: str = "skip",
        lease_seconds: float = 300.0,
    ) -> None:
        if unknown_sender not in UNKNOWN_SENDER_POLICIES:
            raise ValueError(
                f"unknown_sender must be one of {UNKNOWN_SENDER_POLICIES}, not {unknown_sender!r}"
            )
        self.crm = crm
        self.providers = providers  # shared, not copied: a renewed token's provider replaces the entry
        self.ledger = ledger
        self.index = index
        self._api_user_id = api_user_id
        self.unknown_sender = unknown_sender
        self.lease_seconds = lease_seconds

    @property
    def api_user_id(self) -> str:
        """The owner of records nobody else owns: the given one, else the bridge's own CRM user."""
        return self._api_user_id or self.crm.api_user_id

    def record(self, network: str, messages: Sequence[NetworkMessage], report: ImportReport) -> bool:
        """Record `messages` of one network; False when another live writer holds some of them."""
        token, busy_before = uuid.uuid4().hex, report.busy
        creating: list[str] = []  # the message whose CRM create is under way, while it is
        try:
            # Our own message to someone a send is delivering to may be that send's, not marked yet: the
            # send records it, with its other networks' messages, in one record (`bridge.store.ledger`).
            # Left unclaimed and counted busy, so the window is read again once the send has marked it.
            outbound = {m.message_id: str(m.peer_id) for m in messages if m.direction is Direction.OUT}
            in_flight = self.ledger.sends_in_flight(network, set(outbound.values()))
            wait = {message_id for message_id, peer in outbound.items() if peer in in_flight}
            claim = [m for m in messages if m.message_id not in wait]
            entries = self.ledger.claim(
                network,
                {m.message_id: str(m.peer_id) for m in claim},
                token=token,
                lease_seconds=self.lease_seconds,
            )
            mine = list({m.message_id: m for m in claim if entries[m.message_id].mine(token)}.values())
            busy = wait | {
                m.message_id
                for m in claim
                if not entries[m.message_id].mine(token)
                and not entries[m.message_id].recorded
                and entries[m.message_id].outbox_id is None
            }
            report.already_known += len({m.message_id for m in messages}) - len(mine) - len(busy)
            report.busy += len(busy)
            if mine:
                self._record_claimed(network, mine, token, report, creating)
        except Exception as exc:
            if creating and not answered(exc):
                # The create got no answer (a timeout, a dropped connection, a page that is not the
                # webservice's): vtiger may still commit it. Its claim runs out on its own; whoever takes the
                # message over then looks it up in the CRM before writing, so it is never recorded twice.
                log.warning(
                    "%s message %s: the CRM did not answer its create (%s); it is looked up in the "
                    "CRM before anyone records it again",
                    network,
                    creating[0],
                    exc,
                )
            else:
                creating.clear()
            raise
        finally:
            # What was not recorded (unknown senders, a create the CRM refused) is free for others at once.
            self.ledger.release(token, keep=creating)
        return report.busy == busy_before

    def _record_claimed(
        self,
        network: str,
        messages: list[NetworkMessage],
        token: str,
        report: ImportReport,
        creating: list[str],
    ) -> None:
        provider = self.providers[network]
        matches = self._match(network, messages)
        in_crm = self.crm.find_messages(network, [m.message_id for m in messages])
        owners = self.crm.owners_of({r for records in matches.values() for _, r in records})
        for message in messages:
            if not self._hold(network, message, token):
                report.busy += 1  # our lease passed and another writer took the message over
                continue
            records = matches.get(message.peer_id, [])
            if not records and self.unknown_sender == "create_lead" and message.direction is Direction.IN:
                records = matches[message.peer_id] = self._create_lead(provider, message, report)
            if not records:
                report.unknown_sender += 1
                continue
            crm_id = in_crm.get(message.message_id)
            if crm_id is None:
                owner = owners.get(records[0][1]) or self.api_user_id
                creating.append(message.message_id)
                crm_id = self._create(message, owner)
                creating.clear()
                report.created += 1
            else:
                report.already_known += 1  # in the CRM already: adopted into the ledger
            for _module, record_id in records:
                self.crm.link_message(crm_id, record_id)  # add_related never duplicates a pair
            self.ledger.record(network, message.message_id, token, crm_id)

    def _hold(self, network: str, message: NetworkMessage, token: str) -> bool:
        """Renew the claim before working on one message: a slow CRM must not let the lease pass mid-run."""
        entries = self.ledger.claim(
            network, {message.message_id: str(message.peer_id)}, token=token, lease_seconds=self.lease_seconds
        )
        return entries[message.message_id].mine(token)

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
        if profile is None:
            return []
        # Facebook only knows people by their Page-scoped id; the other networks by their account id.
        kind = "psid" if message.network == "facebook" else "id"
        url = provider.profile_url(ProfileRef(message.network, kind, message.peer_id))
        with _CLIENT_RECORD_CREATION:
            known = self.index.records_for(message.network, message.peer_id)
            if known:  # created while this run waited (or for an earlier message of the same sender)
                return known
            lead = self.crm.create_lead(
                message.network,
                last_name=profile.last_name or profile.full_name or f"{message.network} {message.peer_id}",
                first_name=profile.first_name or "",
                url=url,
                owner=self.api_user_id,
            )
            if lead is None:  # Leads have no field for this network's links
                return []
            report.leads_created += 1
            self.index.refresh()
        return [lead]
