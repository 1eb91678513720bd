"""The Telegram sandbox's world: one bot, the people who know it, its update queue and what it sent.

Kept apart from HTTP so the rules read as plain code. Shapes follow contracts/telegram-bot-api/
(`User`, `Chat`, `ChatFullInfo`, `Message`, `Update`, `ChatMemberUpdated`); error strings are the ones
quoted in its README.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BotApiError(Exception):
    """An `ok: false` answer: HTTP status = `error_code`, plus `parameters` (retry_after...)."""

    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = dict(self.parameters)
        return out


UNAUTHORIZED = (401, "Unauthorized")
NOT_FOUND = (404, "Not Found")
CHAT_NOT_FOUND = (400, "Bad Request: chat not found")
CANT_INITIATE = (403, "Forbidden: bot can't initiate conversation with a user")
BLOCKED = (403, "Forbidden: bot was blocked by the user")
DEACTIVATED = (403, "Forbidden: user is deactivated")
TEXT_EMPTY = (400, "Bad Request: message text is empty")
TOO_LONG = (400, "Bad Request: message is too long")
WEBHOOK_ACTIVE = (
    409,
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
    "to delete the webhook first",
)
OTHER_POLLER = (
    409,
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
)
MAX_TEXT = 4096


def error(kind: tuple[int, str], **parameters: Any) -> BotApiError:
    return BotApiError(kind[0], kind[1], **parameters)


def too_many(retry_after: int) -> BotApiError:
    return BotApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


@dataclass
class TgUser:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "ru"
    bio: str | None = None
    birthdate: dict[str, int] | None = None
    started: bool = False  # pressed Start (or wrote): the bot may write
    blocked: bool = False  # blocked the bot
    deactivated: bool = False

    def as_user(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    def as_chat(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        for key in ("last_name", "username"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        return out

    def as_full_chat(self) -> dict[str, Any]:
        # accent_color_id, max_reaction_count and accepted_gift_types are required by ChatFullInfo.
        out = self.as_chat() | {
            "accent_color_id": self.id % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }
        if self.username:
            out["active_usernames"] = [self.username]
        if self.bio:
            out["bio"] = self.bio
        if self.birthdate:
            out["birthdate"] = dict(self.birthdate)
        return out


@dataclass
class World:
    bot: dict[str, Any]
    users: dict[int, TgUser] = field(default_factory=dict)
    queue: list[dict[str, Any]] = field(default_factory=list)  # unconfirmed updates, oldest first
    queued_at: dict[int, float] = field(default_factory=dict)  # update_id -> when it was queued
    next_update_id: int = 700_000_001
    sent: list[dict[str, Any]] = field(default_factory=list)  # every Message the bot sent
    message_ids: dict[int, int] = field(default_factory=dict)  # chat id -> last message_id in that chat
    webhook_url: str = ""
    allowed_updates: list[str] | None = None

    def next_message_id(self, chat_id: int) -> int:
        self.message_ids[chat_id] = self.message_ids.get(chat_id, 0) + 1
        return self.message_ids[chat_id]

    def add_update(self, kind: str, payload: dict[str, Any], at: float) -> int:
        update_id = self.next_update_id
        self.next_update_id += 1
        self.queue.append({"update_id": update_id, kind: payload})
        self.queued_at[update_id] = at
        return update_id

    def bot_as_member(self, status: str) -> dict[str, Any]:
        user = {
            "id": self.bot["id"],
            "is_bot": True,
            "first_name": self.bot["first_name"],
            "username": self.bot["username"],
        }
        return {"status": status, "user": user} | ({"until_date": 0} if status == "kicked" else {})
