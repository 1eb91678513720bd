"""MAX updates -> messages and bot events.

Only dialogs with people count (`recipient.chat_type == "dialog"`, sender not a bot); group and channel
traffic is consumed and skipped. Timestamps are milliseconds. Updates carry no id of their own, so an
event's `update_id` is `<update_type>:<chat_id>:<timestamp>`; a message's id is its `body.mid`.
`dialogs` learns which dialog (`chat_id`) belongs to which person: `GET /messages` and `GET /chats/{id}`
need it, and MAX has no lookup from a user to their dialog.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from providers.base import AccountId, BotEvent, Direction, EventKind, NetworkMessage, Profile
from providers.max.profiles import to_profile
from providers.max.urls import NETWORK

UPDATE_TYPES = ("message_created", "bot_started", "bot_stopped", "dialog_removed")
_EVENTS = {
    "bot_started": EventKind.STARTED,
    "bot_stopped": EventKind.STOPPED,
    "dialog_removed": EventKind.STOPPED,
}


def when(milliseconds: object) -> dt.datetime:
    return dt.datetime.fromtimestamp((milliseconds if isinstance(milliseconds, int) else 0) / 1000, dt.UTC)


def parse_update(
    update: dict[str, Any], since: float | None, dialogs: dict[str, int], people: dict[str, Profile]
) -> NetworkMessage | BotEvent | None:
    """The message or event in one update (None for others); learns dialogs and names on the way."""
    kind = update.get("update_type")
    at = when(update.get("timestamp"))
    if kind == "message_created":
        return message_of(update.get("message"), since, dialogs, people)
    if kind in _EVENTS:
        user, chat_id = update.get("user"), update.get("chat_id")
        if not isinstance(user, dict) or user.get("is_bot") or not isinstance(chat_id, int):
            return None
        account = AccountId(str(user["user_id"]))
        profile = to_profile(user)
        dialogs[account], people[account] = chat_id, profile
        if since is not None and at.timestamp() < since:
            return None
        payload = update.get("payload") if kind == "bot_started" else None
        return BotEvent(
            NETWORK,
            _EVENTS[str(kind)],
            account,
            at,
            f"{kind}:{chat_id}:{update.get('timestamp')}",
            payload=payload if isinstance(payload, str) and payload else None,
            profile=profile,
        )
    return None


def message_of(
    message: object, since: float | None, dialogs: dict[str, int], people: dict[str, Profile]
) -> NetworkMessage | None:
    if not isinstance(message, dict):
        return None
    recipient, sender, body = message.get("recipient") or {}, message.get("sender") or {}, message.get("body")
    if recipient.get("chat_type") != "dialog" or not isinstance(body, dict) or sender.get("is_bot"):
        return None
    if not isinstance(sender.get("user_id"), int):
        return None
    account = AccountId(str(sender["user_id"]))
    if isinstance(recipient.get("chat_id"), int):
        dialogs[account] = recipient["chat_id"]
    people[account] = to_profile(sender)
    at = when(message.get("timestamp"))
    if since is not None and at.timestamp() < since:
        return None
    kinds = tuple(str(a.get("type")) for a in body.get("attachments") or [] if isinstance(a, dict))
    return NetworkMessage(
        NETWORK, str(body["mid"]), account, Direction.IN, str(body.get("text") or ""), at, attachments=kinds
    )
