"""Which networks the daemon reads as a stream (bridge/services/stream.py), and what each stream is given.

A network gets a `StreamIntake` when its provider can long-poll (`providers.base.LongPolling`) and its
configuration says `intake: longpoll` (VK: `networks.vk.intake`, auto = longpoll for a community token;
Telegram and MAX bots always). VK's scheduled import keeps running as the catch-up, and is woken at once
when the stream says updates may have been missed. A bot's update stream is also its only history: its
stream is the one reader of the token (a second `getUpdates` would be refused with 409, or steal updates),
keeps its offset where the scheduled import kept its cursor, and the scheduled import leaves it alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from bridge.config import Config
from bridge.config.schema import BOT_NETWORKS
from bridge.daemon import jobs
from bridge.daemon.wiring import Parts
from bridge.services.stream import EventHandler, Offsets, StreamIntake, StreamOffsets
from providers.base import LongPolling
from providers.errors import ProviderError

log = logging.getLogger(__name__)

# The bot-event handler of each network that has one: network -> a function building the handler from the
# wired parts. Telegram and MAX invitations (`/start <payload>`, `bot_started`) are registered here; VK has
# none, its stream records messages only (its runner gets `on_events=None`).
BOT_EVENT_HANDLERS: dict[str, Callable[[Parts], EventHandler]] = {
    "telegram": lambda parts: parts.bot_events.handle,
    "max": lambda parts: parts.bot_events.handle,
}


def intake_mode(config: Config, network: str) -> str:
    """ "longpoll" or "poll" for an enabled network; bots always long-poll; networks without the setting
    are read on a schedule."""
    if network in BOT_NETWORKS:
        return "longpoll"
    return str(getattr(getattr(config.networks, network), "intake_mode", "poll"))


def longpoll_wait(config: Config, network: str) -> float:
    return float(getattr(getattr(config.networks, network), "longpoll_wait", 25))


def build_streams(parts: Parts, *, on_missed: Callable[[str], None]) -> dict[str, StreamIntake]:
    """A stream (not started) per network configured for long polling whose provider can do it."""
    streams: dict[str, StreamIntake] = {}
    for network, provider in parts.providers.items():
        importer = parts.importers.get(network)
        if intake_mode(parts.config, network) != "longpoll" or importer is None:
            continue
        if not isinstance(provider, LongPolling):
            log.warning(
                "%s cannot be read by long polling; its messages come with the scheduled import", network
            )
            continue
        if network in BOT_NETWORKS and parts.store.cursors.get(network) is None:
            # A first start: from where `imports.start` says, as the scheduled import began (no request).
            parts.store.cursors.set(network, provider.start_cursor(importer.start.days))
        handler = BOT_EVENT_HANDLERS.get(network)
        offsets: Offsets = parts.store.cursors if network in BOT_NETWORKS else StreamOffsets(parts.store.kv)
        streams[network] = StreamIntake(
            network,
            provider,
            importer.intake,
            offsets,
            handler(parts) if handler is not None else None,
            longpoll_wait(parts.config, network),
            on_missed=on_missed,
            observer=_observer(parts),
            guard=partial(jobs.streaming, parts, network),
            ready=parts.index.usable,
        )
    return streams


def _observer(parts: Parts) -> Callable[[str, BaseException | None], None]:
    """A poll's outcome into health: the network's component shows a stream that fails (a conflict, an
    outage); the CRM's failures while recording are reported by the guard."""

    def observe(network: str, error: BaseException | None) -> None:
        if error is None:
            parts.health.ok(network)
        elif isinstance(error, ProviderError):
            parts.health.failed(network, error)

    return observe
