"""Builds the objects the bridge is made of from a `Config`: the CRM gateway, providers, services."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field

from bridge.config import Config
from bridge.config.schema import BOT_NETWORKS
from bridge.config.secrets import Secret
from bridge.crm import Crm
from bridge.crm.fields import FieldMap
from bridge.daemon.health import Health
from bridge.daemon.metrics import Metrics
from bridge.services.bot_events import BotEventHandler, seed_dialogs
from bridge.services.importing import Importer
from bridge.services.invitations import Inviter
from bridge.services.linking import UrlIndex
from bridge.services.profiles import ProfileImporter
from bridge.services.sending import Sender
from bridge.services.stream import StreamIntake
from bridge.store import Store
from bridge.webhook.echoes import OwnWrites
from bridge.webhook.processor import EventProcessor
from providers import PROVIDERS
from providers.base import LongPolling, Provider

log = logging.getLogger(__name__)


def build_provider(config: Config, network: str) -> Provider:
    """One provider from its config section, through the registry (secrets revealed only here)."""
    section = getattr(config.networks, network)
    settings = {
        f.name: value.reveal() if isinstance(value, Secret) else value
        for f in dataclasses.fields(section)
        if f.name not in ("enabled", "imports") and (value := getattr(section, f.name)) is not None
    }
    try:
        provider_class = PROVIDERS[network]
    except KeyError:
        raise ValueError(f"unknown network {network!r}") from None
    return provider_class.from_settings(settings)


@dataclass
class Parts:
    """Everything the daemon and the CLI use, wired once."""

    config: Config
    crm: Crm
    store: Store
    providers: dict[str, Provider]
    health: Health
    metrics: Metrics
    sender: Sender
    importers: dict[str, Importer]
    index: UrlIndex
    profiles: ProfileImporter
    processor: EventProcessor
    inviter: Inviter
    bot_events: BotEventHandler  # the bots' update stream hands it each poll's Start/Stop events
    # The long-poll streams, per network (built and started by the daemon: bridge/daemon/streams.py).
    streams: dict[str, StreamIntake] = field(default_factory=dict)

    def close(self) -> None:
        for provider in self.providers.values():
            closer = getattr(provider, "close", None)
            if closer is not None:
                closer()
        self.crm.close()
        self.store.close()

    def _holders(self) -> list[dict[str, Provider]]:
        holders = [self.providers, self.sender.providers, self.index.providers, self.profiles.providers]
        return holders + [importer.providers for importer in self.importers.values()]

    def disable(self, network: str) -> None:
        """Take a network out of service (the CRM has no field for its links)."""
        old = self.providers.get(network)
        for holder in self._holders():
            holder.pop(network, None)
        self.importers.pop(network, None)
        stream = self.streams.pop(network, None)
        if stream is not None:
            stream.stop()
        closer = getattr(old, "close", None)
        if closer is not None:
            closer()

    def replace_provider(self, network: str, provider: Provider) -> None:
        """Swap a network's client everywhere (after its token was renewed)."""
        old = self.providers.get(network)
        seed_dialogs(self.store.kv, network, provider)  # MAX: the dialogs seen so far, for a resend
        for holder in self._holders():
            holder[network] = provider
        stream = self.streams.get(network)
        if stream is not None and isinstance(provider, LongPolling):
            stream.provider = provider
            stream.wake()  # a stream paused by the old token's failure polls with the new one now
        closer = getattr(old, "close", None)
        if closer is not None:
            closer()


def build(config: Config, *, store: Store | None = None) -> Parts:
    """Wire the bridge from config; makes no network call."""
    v = config.vtiger
    crm = Crm.connect(
        v.url,
        v.username,
        v.access_key.reveal(),
        timeout=v.timeout,
        messages=config.messages,
        field_map=FieldMap(config.fields.profile_map),
        url_fields=config.fields.url_fields,
        timezone=v.timezone,
        supports_4byte_utf8={"auto": None, "true": True, "false": False}[v.supports_4byte_utf8],
    )
    store = store or Store(config.state.path)
    providers = {n: build_provider(config, n) for n in config.networks.enabled()}
    health = Health(secrets=config.secrets())
    metrics = Metrics()
    sender = Sender(crm, providers, store.outbox, store.ledger)
    index = UrlIndex(crm, providers, store.url_index)
    importers = {
        n: Importer(
            crm,
            providers,
            store.cursors,
            store.ledger,
            index,
            limit=getattr(config.networks, n).imports.limit,
            unknown_sender=getattr(config.networks, n).imports.unknown_sender,
            start=getattr(config.networks, n).imports.start,
        )
        for n in providers
    }
    profiles = ProfileImporter(crm, providers, store.audit)
    inviter = Inviter(
        crm,
        providers,
        store.invitations,
        valid_for={n: dt.timedelta(days=getattr(config.networks, n).invitation_days) for n in BOT_NETWORKS},
    )
    processor = EventProcessor(
        events=store.events,
        own_writes=OwnWrites(store.kv),
        sender=sender,
        profiles=profiles,
        index=index,
        outgoing_text_field=config.fields.outgoing_text_field,
        outgoing_networks_field=config.fields.outgoing_networks_field,
        inviter=inviter,
        invitation_field=config.fields.invitation_field,
    )
    for network in BOT_NETWORKS:
        if network in providers:
            seed_dialogs(store.kv, network, providers[network])  # MAX looks into them before a resend
    intakes = {n: importers[n].intake for n in importers}
    bot_events = BotEventHandler(
        crm, providers, store.invitations, store.bot_events, index, intakes, store.kv
    )
    for network in BOT_NETWORKS:
        # The daemon reads bots by their stream (bridge/daemon/streams.py), which gets the same handler; a
        # one-off `import-messages` reads them through the importer, so it acts on Starts too.
        if network in importers:
            importers[network].on_events = bot_events.handle
    return Parts(
        config,
        crm,
        store,
        providers,
        health,
        metrics,
        sender,
        importers,
        index,
        profiles,
        processor,
        inviter=inviter,
        bot_events=bot_events,
    )


def _emoji_key(config: Config) -> str:
    return f"crm.supports_4byte_utf8.{config.vtiger.url}"


def emoji_proven(parts: Parts) -> bool:
    """Has a run of the bridge seen an emoji stored in this CRM (`Crm.probe_4byte_utf8`)?"""
    return parts.store.kv.get(_emoji_key(parts.config)) is True


def remember_emoji_proof(parts: Parts) -> None:
    """The proof does not expire; "not seen yet" is asked again at the next start."""
    parts.store.kv.set(_emoji_key(parts.config), True)


def detect_language(parts: Parts, user_id: str) -> None:
    """The language of texts written into the CRM: `vtiger.language`, or (auto) the API user's in vtiger."""
    chosen = parts.config.vtiger.language
    if chosen == "auto":
        parts.crm.read_language(user_id)
    else:
        parts.crm.language = chosen
