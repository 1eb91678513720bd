"""Telegram users and private chats -> `Profile`.

What a bot can read about a person: names, username and language from every update (`User`), plus `bio`
and `birthdate` from `getChat` (`ChatFullInfo`). No photo URL: a Telegram file link carries the bot token
in its path (`/file/bot<token>/...`), and nothing with the token may reach the CRM.
"""

from __future__ import annotations

from typing import Any

from providers.base import AccountId, Birthday, Profile
from providers.telegram.urls import NETWORK

PROFILE_FIELD_NAMES = frozenset(
    {"first_name", "last_name", "full_name", "screen_name", "profile_url", "about", "birthday"}
)


def to_profile(raw: dict[str, Any]) -> Profile:
    """A `User` or a private `ChatFullInfo` (both carry id, first_name, last_name, username)."""
    first = raw.get("first_name") or None
    last = raw.get("last_name") or None
    username = raw.get("username") or None
    birthday = None
    birth = raw.get("birthdate")
    if isinstance(birth, dict) and isinstance(birth.get("day"), int) and isinstance(birth.get("month"), int):
        year = birth.get("year")
        birthday = Birthday(birth["day"], birth["month"], year if isinstance(year, int) else None)
    return Profile(
        NETWORK,
        AccountId(str(raw["id"])),
        first_name=first,
        last_name=last,
        full_name=" ".join(p for p in (first, last) if p) or None,
        screen_name=username.lower() if username else None,
        profile_url=f"https://t.me/{username.lower()}" if username else None,
        about=raw.get("bio") or None,
        birthday=birthday,
    )
