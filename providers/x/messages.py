"""X API v2 DM events -> `NetworkMessage`, and the times X stamps them with — pure functions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from providers.base import AccountId, Direction, NetworkMessage

NETWORK = "x"
SNOWFLAKE_EPOCH_MS = 1288834974657  # Twitter's snowflake epoch (2010-11-04)


def parse_time(value: object) -> dt.datetime | None:
    """X's "2022-10-28T02:45:00.000Z" as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return None


def snowflake_time(event_id: str) -> dt.datetime:
    """The creation time a snowflake id encodes (used when X omits `created_at`)."""
    millis = (int(event_id) >> 22) + SNOWFLAKE_EPOCH_MS
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)


def expanded_text(event: Mapping[str, Any]) -> str:
    """The DM text with X's t.co links put back to what the sender typed (for matching our own sends)."""
    text = str(event.get("text") or "")
    urls = (event.get("entities") or {}).get("urls") or []
    for item in urls:
        if isinstance(item, dict) and item.get("url") and item.get("expanded_url"):
            text = text.replace(str(item["url"]), str(item["expanded_url"]))
    return text


def peer_of(event: Mapping[str, Any], me: str) -> str | None:
    """The other person of a 1-1 conversation ("low-high" ids); None for group conversations."""
    conversation = str(event.get("dm_conversation_id") or "")
    parts = conversation.split("-")
    sender = str(event.get("sender_id") or "")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    if sender and sender != me:
        return sender
    others = [p for p in parts if p != me]
    return others[0] if len(others) == 1 else None


def message_from_event(event: Mapping[str, Any], me: str) -> NetworkMessage | None:
    """A `NetworkMessage` from a MessageCreate event; None for other events and group conversations."""
    if event.get("event_type", "MessageCreate") != "MessageCreate":
        return None
    peer = peer_of(event, me)
    if peer is None:
        return None
    event_id = str(event["id"])
    media = (event.get("attachments") or {}).get("media_keys") or []
    return NetworkMessage(
        network=NETWORK,
        message_id=event_id,
        peer_id=AccountId(peer),
        direction=Direction.OUT if str(event.get("sender_id")) == me else Direction.IN,
        text=expanded_text(event),
        sent_at=parse_time(event.get("created_at")) or snowflake_time(event_id),
        attachments=tuple(f"x-media:{key}" for key in media),
    )
