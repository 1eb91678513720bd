"""Telegram updates -> messages and bot events.

Only private chats with people count: group and channel traffic, bots' own messages and edits are
consumed and skipped. `/start <payload>` is an event (the person pressed Start in the invitation link), not
a client's message: the payload is a CRM token and must not land in a message record. A message id is
`<chat id>:<message_id>` because Telegram numbers messages per chat.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from providers.base import AccountId, BotEvent, Direction, EventKind, NetworkMessage
from providers.telegram.profiles import to_profile
from providers.telegram.urls import NETWORK

ALLOWED_UPDATES = ("message", "my_chat_member")
# Deep-link payloads: 1-64 characters of A-Za-z0-9_- (core.telegram.org/bots/features#deep-linking).
PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_START = re.compile(r"^/start(?:@[A-Za-z0-9_]+)?(?:\s+(\S+))?\s*$")
ATTACHMENT_KINDS = (
    "photo",
    "document",
    "video",
    "voice",
    "audio",
    "sticker",
    "animation",
    "video_note",
    "contact",
    "location",
    "venue",
    "poll",
    "dice",
)


def _when(seconds: object) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds) if isinstance(seconds, int) else 0, dt.UTC)


def parse_update(update: dict[str, Any], since: float | None) -> NetworkMessage | BotEvent | None:
    """The message or event in one update, None when it is not one the bridge takes in."""
    update_id = str(update.get("update_id"))
    message = update.get("message")
    if isinstance(message, dict):
        return _message(message, update_id, since)
    member = update.get("my_chat_member")
    if isinstance(member, dict):
        return _membership(member, update_id, since)
    return None


def _private_person(chat: object, sender: object) -> bool:
    return (
        isinstance(chat, dict)
        and chat.get("type") == "private"
        and isinstance(sender, dict)
        and not sender.get("is_bot")
        and sender.get("id") == chat.get("id")
    )


def _message(
    message: dict[str, Any], update_id: str, since: float | None
) -> NetworkMessage | BotEvent | None:
    chat, sender = message.get("chat"), message.get("from")
    if not _private_person(chat, sender):
        return None
    assert isinstance(chat, dict) and isinstance(sender, dict)
    at = _when(message.get("date"))
    if since is not None and at.timestamp() < since:
        return None
    account = AccountId(str(chat["id"]))
    text = message.get("text")
    start = _START.match(text) if isinstance(text, str) else None
    if start is not None:
        payload = start[1] if start[1] and PAYLOAD.fullmatch(start[1]) else None
        return BotEvent(
            NETWORK, EventKind.STARTED, account, at, update_id, payload=payload, profile=to_profile(sender)
        )
    body = text if isinstance(text, str) else str(message.get("caption") or "")
    kinds = tuple(kind for kind in ATTACHMENT_KINDS if kind in message)
    return NetworkMessage(
        NETWORK,
        f"{chat['id']}:{message.get('message_id')}",
        account,
        Direction.IN,
        body,
        at,
        attachments=kinds,
    )


def _membership(member: dict[str, Any], update_id: str, since: float | None) -> BotEvent | None:
    chat, sender = member.get("chat"), member.get("from")
    if not _private_person(chat, sender):
        return None
    assert isinstance(chat, dict) and isinstance(sender, dict)
    at = _when(member.get("date"))
    if since is not None and at.timestamp() < since:
        return None
    status = (member.get("new_chat_member") or {}).get("status")
    kind = {"kicked": EventKind.STOPPED, "member": EventKind.RESUMED}.get(str(status))
    if kind is None:
        return None
    return BotEvent(NETWORK, kind, AccountId(str(chat["id"])), at, update_id, profile=to_profile(sender))
