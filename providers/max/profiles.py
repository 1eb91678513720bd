"""MAX users -> `Profile`.

A bot sees `first_name`, `last_name` (people only), `description` and avatar URLs (`UserWithPhoto`, in
`GET /chats/{chatId}` of a dialog and in updates); `username` is documented as returned for bots only.
There is no `GET /users/{id}`: profiles come from the dialog or from what updates carried.
"""

from __future__ import annotations

from typing import Any

from providers.base import AccountId, Profile
from providers.max.urls import NETWORK

PROFILE_FIELD_NAMES = frozenset({"first_name", "last_name", "full_name", "about", "photo_url"})


def to_profile(user: dict[str, Any]) -> Profile:
    first = user.get("first_name") or None
    last = user.get("last_name") or None
    return Profile(
        NETWORK,
        AccountId(str(user["user_id"])),
        first_name=first,
        last_name=last,
        full_name=" ".join(p for p in (first, last) if p) or (user.get("name") or None),
        about=user.get("description") or None,
        photo_url=user.get("full_avatar_url") or user.get("avatar_url") or None,
    )
