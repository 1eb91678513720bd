"""The MAX sandbox's world: one bot, the people who know it, their dialogs, the update log, subscriptions.

Shapes follow contracts/max-bot-api/ (the dev.max.ru snapshot with the corrections its README lists):
timestamps in milliseconds, message ids `mid.<hex>` plus an int64 `seq`, dialog chat ids distinct from
user ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class MaxApiError(Exception):
    """A non-2xx answer with MAX's `{"code", "message"}` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def invalid_token() -> MaxApiError:
    return MaxApiError(401, "verify.token", "Invalid access_token")


def suspended(user_id: int) -> MaxApiError:
    return MaxApiError(403, "chat.denied", f"Key: error.dialog.suspended, args: [{user_id},].")


def not_started(user_id: int) -> MaxApiError:
    # Not documented: what MAX says to a bot writing to someone who never pressed Start. The sandbox
    # uses the same code as for a stopped dialog with its own key.
    return MaxApiError(403, "chat.denied", f"Key: error.dialog.not.started, args: [{user_id},].")


def not_found(what: str) -> MaxApiError:
    return MaxApiError(404, "not.found", f"{what} not found")


def bad_request(message: str) -> MaxApiError:
    return MaxApiError(400, "proto.payload", message)


def too_many() -> MaxApiError:
    # MAX documents 429 but neither its code string nor a retry-after hint.
    return MaxApiError(429, "too.many.requests", "Too many requests")


@dataclass
class MaxUser:
    user_id: int
    first_name: str
    last_name: str | None = None
    description: str | None = None
    chat_id: int = 0  # the dialog with the bot
    started: bool = False
    stopped: bool = False
    last_activity_time: int | None = None

    def as_user(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "user_id": self.user_id,
            "first_name": self.first_name,
            "is_bot": False,
            "name": " ".join(p for p in (self.first_name, self.last_name) if p),
        }
        if self.last_name:
            out["last_name"] = self.last_name
        if self.last_activity_time:
            out["last_activity_time"] = self.last_activity_time
        return out

    def with_photo(self) -> dict[str, Any]:
        return self.as_user() | {
            "description": self.description,
            "avatar_url": f"https://i.max.example/a/{self.user_id}.webp",
            "full_avatar_url": f"https://i.max.example/a/{self.user_id}-full.webp",
        }


@dataclass
class MaxWorld:
    bot: dict[str, Any]
    users: dict[int, MaxUser] = field(default_factory=dict)
    # chat id -> its messages, oldest first
    dialogs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    updates: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (id, update), uncommitted
    next_update: int = 25_493_970
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 116_000_000_000_000_000

    def user_by_chat(self, chat_id: int) -> MaxUser | None:
        return next((u for u in self.users.values() if u.chat_id == chat_id), None)

    def bot_user(self) -> dict[str, Any]:
        return {k: self.bot[k] for k in ("user_id", "first_name", "username", "is_bot", "last_activity_time")}

    def add_message(self, user: MaxUser, text: str, at_ms: int, *, from_bot: bool) -> dict[str, Any]:
        self.seq += 1
        sender = self.bot_user() if from_bot else user.as_user()
        recipient = {
            "chat_id": user.chat_id,
            "chat_type": "dialog",
            "user_id": user.user_id if from_bot else self.bot["user_id"],
        }
        message = {
            "sender": sender,
            "recipient": recipient,
            "timestamp": at_ms,
            "body": {"mid": f"mid.{self.seq:032x}", "seq": self.seq, "text": text},
        }
        self.dialogs.setdefault(user.chat_id, []).append(message)
        return message

    def add_update(self, update: dict[str, Any]) -> int:
        update_id = self.next_update
        self.next_update += 1
        self.updates.append((update_id, update))
        return update_id
