"""The VK sandbox's world: people, communities, tokens, one community's conversations.

Kept apart from the HTTP layer so method implementations (`sandbox/vk/methods.py`) read as plain
functions over this state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.vk.lpstate import LongPollState


class VkApiError(Exception):
    """A VK error envelope to answer with (`{"error": {...}}`)."""

    def __init__(self, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra


# Texts as VK sends them (errors.json descriptions plus VK's usual detail after the colon).
ERROR_TEXTS: dict[int, str] = {
    1: "Unknown error occurred",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    7: "Permission to perform this action is denied",
    8: "Invalid request: v (version) is required",
    9: "Flood control",
    10: "Internal server error",
    12: "Unable to compile code",
    14: "Captcha needed",
    15: "Access denied: no access to call this method",
    17: "Validation required: please open redirect_uri in browser",
    18: "User was deleted or banned",
    29: "Rate limit reached",
    30: "This profile is private",
    100: "One of the parameters specified was missing or invalid",
    104: "Not found",
    113: "Invalid user id",
    900: "Can't send messages for users from blacklist",
    901: "Can't send messages for users without permission",
    902: "Can't send messages to this user due to their privacy settings",
    914: "Message is too long",
    936: "Contact not found",
}


def error(code: int, detail: str = "", **extra: Any) -> VkApiError:
    text = ERROR_TEXTS.get(code, "Unknown error occurred")
    return VkApiError(code, f"{text}: {detail}" if detail else text, **extra)


@dataclass
class VkUser:
    id: int
    first_name: str
    last_name: str
    screen_name: str | None = None
    allows_messages: bool = True  # allowed messages from our community (or wrote to it)
    deactivated: str | None = None  # "deleted" | "banned"
    is_closed: bool = False
    can_access_closed: bool = False
    blacklisted_us: bool = False  # 900
    messages_privacy: bool = False  # 902
    fields: dict[str, Any] = field(default_factory=dict)  # bdate, city, country, mobile_phone, ...

    @property
    def domain(self) -> str:
        return self.screen_name or f"id{self.id}"


@dataclass
class VkCommunity:
    id: int
    screen_name: str
    name: str


@dataclass
class VkToken:
    kind: str  # "group" | "user"
    owner_id: int  # group id for community tokens, user id for user tokens
    rights: frozenset[str]
    revoked: bool = False


@dataclass
class VkMessage:
    id: int
    peer_id: int
    from_id: int
    out: int
    text: str
    date: int
    conversation_message_id: int
    random_id: int = 0
    via_api: bool = False  # sent through the API with our token (the delivery ledger)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "date": self.date,
            "from_id": self.from_id,
            "id": self.id,
            "out": self.out,
            "version": self.id,
            "attachments": [],
            "conversation_message_id": self.conversation_message_id,
            "fwd_messages": [],
            "important": False,
            "is_hidden": False,
            "peer_id": self.peer_id,
            "text": self.text,
        }
        if self.out:
            body["random_id"] = self.random_id  # VK echoes it for outgoing messages only
        return body


@dataclass
class World:
    """Everything the sandbox knows; guarded by the server's lock."""

    group_id: int
    users: dict[int, VkUser] = field(default_factory=dict)
    communities: dict[int, VkCommunity] = field(default_factory=dict)
    tokens: dict[str, VkToken] = field(default_factory=dict)
    messages: list[VkMessage] = field(default_factory=list)  # ascending ids
    sent_by_random_id: dict[tuple[int, int], VkMessage] = field(default_factory=dict)
    geo_ids: dict[str, int] = field(default_factory=dict)
    next_user_id: int = 100
    next_message_id: int = 1
    longpoll: LongPollState = field(default_factory=LongPollState)  # the Bots Long Poll queue and keys
    _names: dict[str, VkUser] = field(default_factory=dict, repr=False)
    _name_key: tuple[int, int] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.longpoll.group_id = self.group_id

    def user_by_name(self, name: str) -> VkUser | None:
        # Rebuilt only when the population changed: batches of 1000 names stay cheap.
        key = (len(self.users), id(self.users))
        if self._name_key != key:
            self._names = {u.screen_name.lower(): u for u in self.users.values() if u.screen_name}
            self._name_key = key
        return self._names.get(name.lower())

    def forget_names(self) -> None:
        self._name_key = None

    def community_by_name(self, name: str) -> VkCommunity | None:
        lowered = name.lower()
        for community in self.communities.values():
            if community.screen_name.lower() == lowered or lowered in (
                f"club{community.id}",
                f"public{community.id}",
            ):
                return community
        return None

    def lookup_user(self, ref: str) -> VkUser | None:
        """A user by numeric id, custom screen name, or the default `id123` address."""
        ref = ref.strip()
        if ref.isdigit():
            return self.users.get(int(ref))
        by_name = self.user_by_name(ref)
        if by_name is not None:
            return by_name
        if ref.lower().startswith("id") and ref[2:].isdigit():
            return self.users.get(int(ref[2:]))
        return None

    def geo_id(self, title: str) -> int:
        return self.geo_ids.setdefault(title, len(self.geo_ids) + 1)

    def add_message(
        self, peer_id: int, *, out: bool, text: str, date: int, random_id: int = 0, via_api: bool = False
    ) -> VkMessage:
        in_peer = sum(1 for m in self.messages if m.peer_id == peer_id)
        message = VkMessage(
            id=self.next_message_id,
            peer_id=peer_id,
            from_id=-self.group_id if out else peer_id,
            out=int(out),
            text=text,
            date=date,
            conversation_message_id=in_peer + 1,
            random_id=random_id,
            via_api=via_api,
        )
        self.next_message_id += 1
        self.messages.append(message)
        # Every message of the mailbox is also a long-poll event, with the very object getHistory
        # shows: incoming ones as message_new, the community's own (API or VK's UI) as message_reply.
        if out:
            self.longpoll.publish("message_reply", message.as_json())
        else:
            self.longpoll.message_new(message.as_json())
        return message

    def history(self, peer_id: int) -> list[VkMessage]:
        return [m for m in self.messages if m.peer_id == peer_id]
