"""VK Bots Long Poll for a community token: `groups.getLongPollServer` once, then `a_check` held open.

As VK documents it (dev.vk.com "Bots Long Poll API"; contracts/vk-longpoll/): the server, `key` and first
`ts` come from `groups.getLongPollServer(group_id)`; `GET {server}?act=a_check&key=&ts=&wait=` answers
`{ts, updates}` as soon as there is an event, or empty after `wait` seconds (90 at most, 25 advised: some
proxies cut idle connections at 30). VK keeps the queue, so a client that comes back with its `ts` gets
what it missed, and the failures say what to do:

* `{"failed": 1, "ts": N}`: history partly lost: continue from N. Events in the gap are gone.
* `{"failed": 2}`: the key expired: get a new key, keep `ts`.
* `{"failed": 3}`: the server lost its state: get a new key and `ts`. Events in between are gone.

The offset handed to the bridge is `ts` alone: the key is a credential for the community's events and
stays in memory (a restart costs one `groups.getLongPollServer`). When events may be gone (failed 1 or 3,
or no offset at all) the result says `missed=True`: the bridge's scheduled import, which reads the
mailbox itself, is what finds them.

`message_new` (`{message, client_info}` since API 5.103; a bare message before) and `message_reply` (the
community's own messages: sent through the API or VK's UI) become `NetworkMessage`s with the same fields
the scheduled import reads from `messages.getHistory`, so both paths describe a message identically and
the ledger keeps one record. Other event types are read past.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from providers.base import NetworkMessage, PollResult
from providers.errors import ProviderError, ProviderUnavailable
from providers.vk.errors import NETWORK
from providers.vk.messages import to_message
from providers.vk.transport import VkTransport

log = logging.getLogger(__name__)

MAX_WAIT = 90  # VK refuses more
CONNECT_TIMEOUT = 10.0
READ_MARGIN = 10.0  # beyond `wait`: VK answers an empty poll after `wait` seconds, plus the way back
MESSAGE_EVENTS = ("message_new", "message_reply")


@dataclass
class _Server:
    url: str
    key: str  # never logged, never persisted


def _message_of(update: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if update.get("type") not in MESSAGE_EVENTS:
        return None
    obj = update.get("object")
    if not isinstance(obj, Mapping):
        return None
    message = obj.get("message", obj)  # message_new wraps it since 5.103; message_reply never does
    return message if isinstance(message, Mapping) and "id" in message and "peer_id" in message else None


class VkLongPoll:
    """One VK provider's long poll. Its own HTTP session: a held poll shares nothing with sends."""

    def __init__(self, transport: VkTransport, group_id: int | None) -> None:
        self._transport = transport
        self._group_id = group_id
        self._server: _Server | None = None
        self._settings_checked = False
        self.session = requests.Session()
        self.stats: Counter[str] = transport.stats  # a_check counted with the API methods

    def close(self) -> None:
        self.session.close()

    def poll(self, offset: str | None, timeout: float) -> PollResult:
        if not self._group_id:
            raise ProviderError(
                "VK long polling needs a community access key and networks.vk.group_id; a user key cannot "
                "read a community's events. Set networks.vk.intake: poll to import on a schedule instead.",
                network=NETWORK,
            )
        wait = max(0, min(int(timeout), MAX_WAIT))
        if offset is None:
            # The first start: VK's current ts is the starting point, handed out at once so it is stored
            # before anything arrives; what came before is the scheduled import's (`missed`).
            return PollResult([], [], self._fetch_server(), missed=True)
        ts, missed = offset, False
        if self._server is None:
            self._fetch_server()  # a new key for the stored ts (a restart, or after an error)
        for attempt in range(2):
            assert self._server is not None
            answer = self._a_check(self._server, ts, wait)
            failed = answer.get("failed")
            if failed is None:
                updates = answer.get("updates")
                new_ts = answer.get("ts")
                if not isinstance(updates, list) or new_ts is None:
                    raise ProviderUnavailable(
                        "The VK long-poll server answered in an unexpected shape; the bridge will try again.",
                        network=NETWORK,
                    )
                messages = [to_message(m) for u in updates if (m := _message_of(u)) is not None]
                return PollResult(_unique(messages), [], str(new_ts), missed=missed)
            if failed == 1 and answer.get("ts") is not None:
                log.warning("VK long poll: history lost (failed 1); the scheduled import fills the gap")
                return PollResult([], [], str(answer["ts"]), missed=True)
            if failed == 2 and attempt == 0:
                self._fetch_server()  # a new key; the ts stays, so nothing is lost
                continue
            if failed == 3 and attempt == 0:
                log.warning(
                    "VK long poll: the server lost its state (failed 3); the scheduled import fills the gap"
                )
                ts, missed = self._fetch_server(), True
                continue
            break
        self._server = None  # a fresh start next time
        raise ProviderUnavailable(
            f"The VK long-poll server refused a fresh key (failed {failed!r}); the bridge will try again.",
            network=NETWORK,
        )

    def _fetch_server(self) -> str:
        try:
            answer = self._transport.call("groups.getLongPollServer", {"group_id": self._group_id})
        except ProviderError as exc:
            if exc.code == 100:  # "longpoll for this group is not enabled": VK's default for a community
                raise ProviderError(
                    "VK's Long Poll API is switched off for the community: switch it on (community -> "
                    "Manage -> API usage -> Long Poll API: enabled, API version 5.199, event types "
                    "'incoming message' and 'outgoing message'), or set networks.vk.intake: poll (VK error "
                    "100)",
                    network=NETWORK,
                    code=100,
                ) from None
            raise
        if not self._settings_checked:
            self._settings_checked = True
            self._check_settings()
        try:
            self._server = _Server(str(answer["server"]), str(answer["key"]))
            return str(answer["ts"])
        except (KeyError, TypeError):
            raise ProviderUnavailable(
                "VK answered groups.getLongPollServer without a server, key and ts; the bridge will try "
                "again.",
                network=NETWORK,
            ) from None

    def _check_settings(self) -> None:
        """Once per process: warn when the community's long poll leaves out messages (then only the
        scheduled import brings them). Needs the key's `manage` right; without it nothing is said."""
        try:
            settings = self._transport.call("groups.getLongPollSettings", {"group_id": self._group_id})
        except ProviderError:
            return
        events = settings.get("events") if isinstance(settings, dict) else None
        off = [name for name in MESSAGE_EVENTS if isinstance(events, dict) and not events.get(name)]
        if off:
            log.warning(
                "VK long poll: the community does not send %s events, so those messages come only with the "
                "scheduled import; tick them in community -> Manage -> API usage -> Long Poll API -> Event "
                "types",
                " and ".join(off),
            )

    def _a_check(self, server: _Server, ts: str, wait: int) -> dict[str, Any]:
        url = server.url if "://" in server.url else f"https://{server.url}"  # VK has given bare hosts
        self.stats["a_check"] += 1
        try:
            # Not through the rate limiter: a_check is not an API method and VK does not count it in the
            # per-second budget. Redirects are not followed (the transport's rule: no host nobody named).
            response = self.session.get(
                url,
                params={"act": "a_check", "key": server.key, "ts": ts, "wait": str(wait)},
                timeout=(CONNECT_TIMEOUT, wait + READ_MARGIN),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            self._server = None  # the server may have moved: ask VK again before the next poll
            raise ProviderUnavailable(
                f"The VK long-poll server did not answer ({type(exc).__name__}); the bridge will try again.",
                network=NETWORK,
            ) from None
        if response.status_code != 200:
            self._server = None
            raise ProviderUnavailable(
                f"The VK long-poll server answered HTTP {response.status_code}; the bridge will try again.",
                network=NETWORK,
                code=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._server = None
            raise ProviderUnavailable(
                "The VK long-poll server answered with something that is not its JSON; the bridge will try "
                "again.",
                network=NETWORK,
            )
        return body


def _unique(messages: list[NetworkMessage]) -> list[NetworkMessage]:
    """One per message id: VK may send an event again (same event_id); the ledger would see it twice."""
    return list({m.message_id: m for m in messages}.values())
