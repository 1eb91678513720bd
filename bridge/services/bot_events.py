"""What a client's Start, Stop or return in a bot (Telegram, MAX) does to the CRM.

`BotEventHandler.handle(network, events)` is the bot-event handler of the update stream
(`bridge.services.stream`): the stream hands it the poll's events before it records the poll's messages
(`Intake.record`; a Start links its sender first, so a message in the same poll finds the record), and
stores the offset only after both (raising keeps the offset, so the same events come again). Per event:

- STARTED with a valid invitation token (`bridge.services.invitations`): the account is written into the
  record's field for the network (`tg://user?id=<id>`, a MAX user id) through the `Crm` gateway, with the
  profile the update carries into the record's EMPTY mapped fields (names, username; never a photo link
  of Telegram, whose file URLs carry the bot token); then the Start is recorded as the conversation's first
  message, linked to the record. An unknown, expired or used token links nothing: one log line.
- STARTED otherwise: the Start is recorded for the records that already know the account; a person no
  record knows is skipped or becomes a Lead, as `imports.unknown_sender` says for messages.
- STOPPED (blocked, stopped, dialog removed): a comment on every linked record, in the CRM's language, says
  that messages no longer reach the client; RESUMED: a log line.

Idempotent on the update id: what an update did is noted last (`bridge.store.bot_events`); a token used by
this update is answered as valid again; the Start's message goes through the ledger like every message.
MAX dialogs seen in events are kept (`kv`), so a restarted bridge can look into a dialog before resending.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from bridge.crm import Crm
from bridge.crm.fields import profile_values
from bridge.crm.texts import started_text, stopped_comment
from bridge.services.intake import ImportReport, Intake
from bridge.services.linking import UrlIndex
from bridge.store import BotEvents, Invitations, KeyValues, Redeemed
from providers.base import BotEvent, Direction, EventKind, NetworkMessage, ProfileRef, Provider

log = logging.getLogger(__name__)

DIALOG_KEY = "bot.dialog.{network}."


class BotEventBusy(RuntimeError):
    """Another writer is recording this Start's message: the poll is read again later."""


def seed_dialogs(kv: KeyValues, network: str, provider: Provider) -> int:
    """Give `provider` the dialogs an earlier run saw (MAX looks into them before a resend)."""
    remember = getattr(provider, "remember_dialog", None)
    if remember is None:
        return 0
    prefix = DIALOG_KEY.format(network=network)
    known = kv.items(prefix)
    for key, chat_id in known.items():
        remember(key[len(prefix) :], int(chat_id))
    return len(known)


class BotEventHandler:
    """Acts on the bots' Start/Stop events; collaborators injected (`intakes`: network -> its Intake)."""

    def __init__(
        self,
        crm: Crm,
        providers: Mapping[str, Provider],
        invitations: Invitations,
        done: BotEvents,
        index: UrlIndex,
        intakes: Mapping[str, Intake],
        kv: KeyValues | None = None,
    ) -> None:
        self.crm = crm
        self.providers = providers
        self.invitations = invitations
        self.done = done
        self.index = index
        self.intakes = intakes
        self.kv = kv

    def handle(self, network: str, events: Sequence[BotEvent]) -> None:
        """Act on one poll's events, oldest first; raises (keeping the offset) when one cannot be done now."""
        for event in events:
            if self.done.done(network, event.update_id):
                continue
            self._remember_dialog(network, event)
            if event.kind is EventKind.STARTED:
                outcome = self._started(network, event)
            elif event.kind is EventKind.STOPPED:
                outcome = self._stopped(network, event)
            else:
                outcome = "resumed"
                log.info("%s account %s came back to the bot", network, event.account_id)
            self.done.mark_done(network, event.update_id, str(event.kind), str(event.account_id), outcome)

    # --- Start --------------------------------------------------------------------------------------
    def _started(self, network: str, event: BotEvent) -> str:
        outcome = "started"
        if event.payload:
            redemption = self.invitations.redeem(network, event.payload, event.account_id, event.update_id)
            if redemption.outcome is Redeemed.LINKED and redemption.record_id:
                outcome = self._link(network, redemption.record_id, event)
            else:
                outcome = f"invitation {redemption.outcome}"
                log.info(
                    "%s account %s pressed Start with an invitation that is %s: not linked by it",
                    network,
                    event.account_id,
                    {Redeemed.UNKNOWN: "unknown", Redeemed.EXPIRED: "expired"}.get(
                        redemption.outcome, "already used"
                    ),
                )
        report = ImportReport(network)
        if not self.intakes[network].record(network, [self._start_message(network, event)], report):
            raise BotEventBusy(f"{network} Start {event.update_id} is being recorded by another writer")
        if report.unknown_sender:
            log.info(
                "%s account %s pressed Start; no CRM record knows it (unknown_sender: skip)",
                network,
                event.account_id,
            )
        elif report.leads_created:
            outcome += ", lead created"
        return outcome

    def _start_message(self, network: str, event: BotEvent) -> NetworkMessage:
        return NetworkMessage(
            network,
            f"start:{event.update_id}",
            event.account_id,
            Direction.IN,
            started_text(self.crm.language, network),
            event.at,
        )

    def _link(self, network: str, record_id: str, event: BotEvent) -> str:
        module = self.crm.module_of(record_id)
        field = self.crm.url_field_names_of(module).get(network)
        record = self.crm.read_record(record_id)
        if field is None or record is None:
            log.warning(
                "%s invitation for %s: %s; account %s not linked",
                network,
                record_id,
                "the record is gone" if record is None else f"{module} has no field for {network}",
                event.account_id,
            )
            return "record gone"
        value = self.providers[network].profile_url(ProfileRef(network, "id", event.account_id))
        writes: dict[str, str] = {}
        before = str(record.get(field) or "").strip()
        if before != value:
            writes[field] = value
        offered = profile_values(event.profile) if event.profile is not None else {}
        offered.pop("photo_url", None)  # Telegram's file links carry the bot token; MAX's are not needed
        for attribute, field_name in self.crm.field_map.for_module(module).items():
            if attribute in offered and self.crm.is_empty(module, record, field_name):
                writes[field_name] = self.crm.storable_value(offered[attribute])
        if writes:
            self.crm.write_and_compare(record_id, writes)
        self.index.refresh_record(record_id)
        log.info(
            "%s account %s linked to %s by invitation%s%s",
            network,
            event.account_id,
            record_id,
            f" (it replaces {before!r} in {field})" if before and before != value else "",
            f"; filled {', '.join(sorted(set(writes) - {field}))}" if set(writes) - {field} else "",
        )
        return "linked"

    # --- Stop ---------------------------------------------------------------------------------------
    def _stopped(self, network: str, event: BotEvent) -> str:
        records = [r for _, r in self.index.records_for(network, event.account_id)]
        owners = self.crm.owners_of(records) if records else {}
        for record_id in records:
            owner = owners.get(record_id) or self.crm.api_user_id
            self.crm.comment(record_id, stopped_comment(self.crm.language, network), owner)
        log.info(
            "%s account %s stopped or blocked the bot%s",
            network,
            event.account_id,
            f"; noted on {', '.join(records)}" if records else "; no CRM record knows it",
        )
        return "stopped"

    def _remember_dialog(self, network: str, event: BotEvent) -> None:
        dialog_of = getattr(self.providers.get(network), "dialog_of", None)
        chat_id = dialog_of(event.account_id) if dialog_of is not None else None
        if self.kv is not None and chat_id is not None:
            self.kv.set(DIALOG_KEY.format(network=network) + str(event.account_id), int(chat_id))
