"""The state behind the VK sandbox's Bots Long Poll server: settings, the event queue, the keys.

Plain state guarded by the VK sandbox's lock, like `World` (which owns one and publishes every message
into it); the HTTP side (`a_check`, holding a request open, the failure knobs) is `sandbox/vk/longpoll.py`,
which also says which behaviours are VK's and which are this sandbox's choices.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# The event flags of groups.get/setLongPollSettings (`groups_long_poll_events` in contracts/vk-api-schema,
# which VK answers in full); the sandbox only ever produces message_new/reply/allow/deny, on by default.
EVENT_FLAGS = (
    "audio_new",
    "board_post_delete",
    "board_post_edit",
    "board_post_new",
    "board_post_restore",
    "group_change_photo",
    "group_change_settings",
    "group_join",
    "group_leave",
    "group_officers_edit",
    "lead_forms_new",
    "market_comment_delete",
    "market_comment_edit",
    "market_comment_new",
    "market_comment_restore",
    "market_order_new",
    "market_order_edit",
    "message_allow",
    "message_deny",
    "message_new",
    "message_read",
    "message_reply",
    "message_typing_state",
    "message_edit",
    "photo_comment_delete",
    "photo_comment_edit",
    "photo_comment_new",
    "photo_comment_restore",
    "photo_new",
    "poll_vote_new",
    "user_block",
    "user_unblock",
    "video_comment_delete",
    "video_comment_edit",
    "video_comment_new",
    "video_comment_restore",
    "video_new",
    "message_reaction_event",
    "wall_post_new",
    "wall_reply_delete",
    "wall_reply_edit",
    "wall_reply_new",
    "wall_reply_restore",
    "wall_repost",
    "wall_schedule_post_new",
    "wall_schedule_post_delete",
    "donut_subscription_create",
    "donut_subscription_prolonged",
    "donut_subscription_cancelled",
    "donut_subscription_expired",
    "donut_subscription_price_changed",
    "donut_money_withdraw",
    "donut_money_withdraw_error",
)
DEFAULT_EVENTS = frozenset({"message_new", "message_reply", "message_allow", "message_deny"})
FIRST_TS = 1  # the number a fresh (or restarted) server calls its "last event"
WRAPPED_SINCE = (5, 103)  # message_new is {message, client_info} from this API version on

# What VK says the client supports, sent with every message_new (callback_info_for_bots).
CLIENT_INFO: dict[str, Any] = {
    "button_actions": [
        "text",
        "vkpay",
        "open_app",
        "location",
        "open_link",
        "callback",
        "intent_subscribe",
        "intent_unsubscribe",
    ],
    "keyboard": True,
    "inline_keyboard": True,
    "carousel": True,
    "lang_id": 0,
}


def api_version_tuple(version: str) -> tuple[int, ...] | None:
    try:
        parts = tuple(int(part) for part in version.split("."))
    except ValueError:
        return None
    return parts if len(parts) == 2 and parts[0] == 5 else None


@dataclass
class LpEvent:
    ts: int
    created: float  # on the sandbox's clock
    update: dict[str, Any]  # {type, object, group_id, event_id, v} as served


@dataclass
class LpKey:
    group_id: int
    issued: float
    epoch: int  # the server generation that issued it; a restart makes older keys "state lost"
    expired: bool = False


@dataclass
class LongPollState:
    group_id: int = 0
    enabled: bool = True
    api_version: str = "5.199"
    events_on: set[str] = field(default_factory=lambda: set(DEFAULT_EVENTS))
    retention: float = 3600.0  # seconds an event stays queued (how long VK keeps it is undocumented)
    max_events: int = 10_000  # and at most this many
    key_lifetime: float = 3600.0  # seconds until a key answers failed:2
    batch_limit: int = 100  # events per a_check answer; the rest come with the next call
    server_url: str = ""  # "http://127.0.0.1:<port>/whp/", set when the sandbox starts
    clock: Callable[[], float] = time.monotonic
    notify: Callable[[], None] = lambda: None  # wakes held a_check requests
    events: list[LpEvent] = field(default_factory=list)  # ascending ts
    last_ts: int = FIRST_TS
    floor: int = FIRST_TS  # events numbered <= floor are gone (never queued here, evicted or lost)
    keys: dict[str, LpKey] = field(default_factory=dict)
    epoch: int = 0
    published: int = 0  # events queued since the sandbox started, repeats included

    # --- events -----------------------------------------------------------------------------------
    def publish(self, kind: str, obj: dict[str, Any], *, event_id: str | None = None) -> LpEvent | None:
        """Queue one event, as VK does only for an enabled server and an enabled event type."""
        if not self.enabled or kind not in self.events_on:
            return None
        update = {
            "type": kind,
            "object": obj,
            "group_id": self.group_id,
            "event_id": event_id or secrets.token_hex(20),
            "v": self.api_version,
        }
        return self._queue(update)

    def message_new(self, message: dict[str, Any]) -> LpEvent | None:
        version = api_version_tuple(self.api_version) or WRAPPED_SINCE
        obj = {"message": message, "client_info": dict(CLIENT_INFO)} if version >= WRAPPED_SINCE else message
        return self.publish("message_new", obj)

    def _queue(self, update: dict[str, Any]) -> LpEvent:
        self.last_ts += 1
        event = LpEvent(self.last_ts, self.clock(), update)
        self.events.append(event)
        self.published += 1
        self.evict()
        self.notify()
        return event

    def repeat(self, event_id: str | None = None) -> LpEvent:
        """Queue an event again with the same event_id and object (VK's re-send)."""
        if not self.events:
            raise LookupError("no queued event to repeat")
        original = (
            next((e for e in self.events if e.update["event_id"] == event_id), None)
            if event_id
            else self.events[-1]
        )
        if original is None:
            raise LookupError(f"event {event_id} is not queued")
        return self._queue(dict(original.update))

    def evict(self, keep: int | None = None) -> None:
        """Drop events older than `retention`, beyond `max_events`, or all but the last `keep`."""
        oldest = self.clock() - self.retention
        limit = self.max_events if keep is None else min(self.max_events, keep)
        gone = 0
        while gone < len(self.events) and (
            len(self.events) - gone > limit or self.events[gone].created < oldest
        ):
            gone += 1
        if gone:
            self.floor = self.events[gone - 1].ts
            del self.events[:gone]

    def after(self, ts: int) -> list[LpEvent]:
        pending = [e for e in self.events if e.ts > ts]
        return pending[: self.batch_limit]

    # --- keys -------------------------------------------------------------------------------------
    def issue_key(self, group_id: int) -> str:
        key = secrets.token_hex(20)
        self.keys[key] = LpKey(group_id, self.clock(), self.epoch)
        return key

    def key_failure(self, key: str, group_id: int | None) -> int:
        """0 for a usable key, else the `failed` code VK answers it with."""
        found = self.keys.get(key)
        if found is None or found.group_id != group_id:
            return 2
        if found.epoch != self.epoch:
            return 3
        if found.expired or self.clock() - found.issued > self.key_lifetime:
            return 2
        return 0

    def expire_keys(self) -> None:
        for key in self.keys.values():
            key.expired = True

    def restart(self) -> None:
        """The server loses everything: queue, numbering; keys issued before answer failed:3."""
        self.epoch += 1
        self.events.clear()
        self.last_ts = self.floor = FIRST_TS
