"""A finished send's one CRM record: create it (or adopt the one that exists), link it, comment failures.

On the normal path this costs what vtiger cannot avoid: one `create` and one `add_related` (the send's
`retrieve` happened when it was queued, and gave the client's owner: `bridge.services.owners`). The CRM is
searched for an existing record (one `query`, `Crm.find_outbound`) only where one may exist although this
send never learnt its id:

- a create was started and its answer never stored (`crm_create_started_at` without `crm_message_id`:
  a crash, a timeout or a dropped connection cut the create off);
- an intake claimed one of the send's messages before the send marked it (ledger origin "import") and
  ended without recording it: it may have created the record before it died;
- the send was queued before this process started: the state file may be an older copy (a restored
  backup) that does not know of a record a later, lost, copy of the same send created.

Every step is a column of the outbox row (`bridge.store.outbox_rows`), so a restart resumes where it stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bridge.crm import Crm
from bridge.crm.texts import DELIVERY_UNKNOWN, FailedTarget, failure_comment
from bridge.services.owners import OwnerCache
from bridge.store import Ledger, Outbox, OutboxSend, OutboxTarget, TargetState

log = logging.getLogger(__name__)


class SendRecorder:
    """Writes finished sends into the CRM (see the module docstring).

    Args:
        carried_over: the newest outbox id when this process began: older sends are looked up first.
        api_user_id: the owner of records whose client has none (default: the bridge's CRM user).
    """

    def __init__(
        self,
        crm: Crm,
        outbox: Outbox,
        ledger: Ledger,
        owners: OwnerCache,
        *,
        carried_over: int,
        api_user_id: str | None = None,
    ) -> None:
        self.crm = crm
        self.outbox = outbox
        self.ledger = ledger
        self.owners = owners
        self.carried_over = carried_over
        self._api_user_id = api_user_id

    def record(self, send: OutboxSend) -> bool:
        """One CRM record for the send; False while an import still records one of its messages."""
        outbox = self.outbox
        sent = [t for t in send.targets if t.state is TargetState.SENT]
        failed = [t for t in send.targets if t.state is TargetState.FAILED]
        when = min((t.sent_at for t in sent if t.sent_at), default=send.created_at)
        m = self.crm.messages
        statuses = {t.network: (m.status_sent, t.message_id or "") for t in sent}
        # "Delivery unknown" (Telegram: may have arrived, never repeated) is not "not sent".
        statuses.update(
            {
                t.network: (m.status_unknown if t.error_code == DELIVERY_UNKNOWN else m.status_not_sent, "")
                for t in failed
            }
        )
        message_id = send.crm_message_id
        if message_id is None:
            recorded, busy, touched = self._recorded_by_others(sent)
            if recorded is None and busy:
                log.debug("send %s: an import is recording its message; adopting it next time", send.id)
                return False
            if recorded is None and self._may_exist(send, touched):
                recorded = self.crm.find_outbound(
                    {t.network: t.message_id or "" for t in sent},
                    when=when if send.crm_create_started_at else None,
                    text=send.text,
                )
            if recorded is None:
                text, shortened = self.crm.storable_text(send.text)
                owner = self.owner(send.record_id)
                outbox.mark_crm_create_started(send.id)  # from here on a restart looks for our record
                message_id = self.crm.create_message(
                    text=text, inbound=False, when=when, owner=owner, statuses=statuses
                )
                if shortened:
                    log.info("send %s: text shortened for the CRM; full text kept in the outbox", send.id)
            else:
                # Found (e.g. recorded by an import that saw our message first): complete its statuses.
                message_id = recorded
                self.crm.set_statuses(message_id, statuses)
            outbox.set_send_crm_message_id(send.id, message_id)
        if send.linked_at is None:
            self.crm.link_message(message_id, send.record_id)  # add_related never duplicates a pair
            outbox.mark_send_linked(send.id)
        if failed and send.commented_at is None:
            comment = failure_comment(
                # In the CRM's language (`Crm.language`, read at start-up): sales people read it.
                self.crm.language,
                send.text,
                [FailedTarget(t.network, t.error_code, t.error_text, t.url) for t in failed],
            )
            self.crm.comment(send.record_id, comment, self.owner(send.record_id))
            outbox.mark_send_commented(send.id)
        outbox.mark_send_done(send.id)
        return True

    def owner(self, record_id: str) -> str:
        return self.owners.owner_of(record_id) or self._api_user_id or self.crm.api_user_id

    def _may_exist(self, send: OutboxSend, touched_by_intake: bool) -> bool:
        """Could the CRM hold a record of this send that the outbox does not name? (module docstring)"""
        return send.crm_create_started_at is not None or touched_by_intake or send.id <= self.carried_over

    def _recorded_by_others(self, sent: Sequence[OutboxTarget]) -> tuple[str | None, bool, bool]:
        """The CRM record another writer made for one of these messages, whether one is still at it, and
        whether an intake claimed any of them first (it may have created a record it never noted)."""
        busy = touched = False
        for target in sent:
            entry = self.ledger.entries(target.network, [target.message_id or ""]).get(
                target.message_id or ""
            )
            if entry is None:
                continue
            if entry.recorded:
                return entry.crm_message_id, False, True
            busy = busy or entry.claimed
            touched = touched or entry.origin != "outbox"
        return None, busy, touched
