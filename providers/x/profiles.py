"""X API v2 `User` objects -> `Profile`, and the id and username rules X applies — pure functions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from providers.base import AccountId, Profile, ProfileRef
from providers.x.urls import x_profile_url

NETWORK = "x"
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


def profile_url_of(username: str) -> str:
    return x_profile_url(ProfileRef(NETWORK, "screen_name", username.lower()))


def website_of(user: Mapping[str, Any]) -> str | None:
    """The profile website, with X's t.co wrapper expanded when `entities.url` says where it points."""
    url = user.get("url") or None
    entities = user.get("entities") or {}
    for item in (entities.get("url") or {}).get("urls") or []:
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
