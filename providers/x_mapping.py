"""Turning X API v2 objects into the bridge's value types (profiles, messages) — pure functions."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from providers.base import AccountId, Direction, NetworkMessage, Profile, ProfileRef
from providers.urls import x_profile_url

NETWORK = "x"
SNOWFLAKE_EPOCH_MS = 1288834974657  # Twitter's snowflake epoch (2010-11-04)
_USERNAME = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_USER_ID = re.compile(r"^[0-9]{1,19}$")


def valid_username(name: str) -> bool:
    return bool(_USERNAME.match(name))


def valid_user_id(value: str) -> bool:
    return bool(_USER_ID.match(value))


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """(first, last) from X's free-form display name.

    Rule: whitespace is collapsed; one word -> it is the first name and the last name stays unknown
    (X has no surname field, and a CRM "last name" guessed from a nickname would be wrong); two or more
    words -> the first word is the first name and the rest, kept together, the last name
    ("Jean Claude Van Damme" -> "Jean" / "Claude Van Damme"), so particles like "van"/"de" stay with it.
    """
    words = (name or "").split()
    if not words:
        return None, None
    if len(words) == 1:
        return words[0], None
    return words[0], " ".join(words[1:])


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


def profile_url_of(username: str) -> str:
    return x_profile_url(ProfileRef(NETWORK, "screen_name", username.lower()))


def website_of(user: Mapping[str, Any]) -> str | None:
    """The profile website, with X's t.co wrapper expanded when `entities.url` says where it points."""
    url = user.get("url") or None
    entities = user.get("entities") or {}
    for item in ((entities.get("url") or {}).get("urls") or []):
        if isinstance(item, dict) and item.get("expanded_url") and (url is None or item.get("url") == url):
            return str(item["expanded_url"])
    return str(url) if url else None


def larger_photo(url: object) -> str | None:
    """X returns the 48x48 `_normal` avatar; the `_400x400` variant of the same image is the useful one."""
    if not isinstance(url, str) or not url:
        return None
    return re.sub(r"_normal(\.\w+)$", r"_400x400\1", url)


def profile_from_user(user: Mapping[str, Any]) -> Profile:
    """A `Profile` from an X `User`. Location is free text, so it goes to `city` and no country is guessed."""
    name = str(user.get("name") or "").strip() or None
    first, last = split_name(name)
    username = str(user.get("username") or "") or None
    return Profile(
        network=NETWORK,
        account_id=AccountId(str(user["id"])),
        first_name=first,
        last_name=last,
        full_name=name,
        city=str(user.get("location") or "").strip() or None,
        country=None,
        website=website_of(user),
        about=str(user.get("description") or "").strip() or None,
        photo_url=larger_photo(user.get("profile_image_url")),
        screen_name=username,
        profile_url=profile_url_of(username) if username else None,
        is_closed=bool(user.get("protected", False)),
    )


def expanded_text(event: Mapping[str, Any]) -> str:
    """The DM text with X's t.co links put back to what the sender typed (for matching our own sends)."""
    text = str(event.get("text") or "")
    urls = ((event.get("entities") or {}).get("urls") or [])
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
    media = ((event.get("attachments") or {}).get("media_keys") or [])
    return NetworkMessage(
        network=NETWORK,
        message_id=event_id,
        peer_id=AccountId(peer),
        direction=Direction.OUT if str(event.get("sender_id")) == me else Direction.IN,
        text=expanded_text(event),
        sent_at=parse_time(event.get("created_at")) or snowflake_time(event_id),
        attachments=tuple(f"x-media:{key}" for key in media),
    )
