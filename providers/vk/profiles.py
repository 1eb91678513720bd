"""VK `users.get` objects -> `Profile`: only what VK actually returned, never invented."""

from __future__ import annotations

from typing import Any

from providers.base import AccountId, Birthday, Profile, ProfileRef, first_present
from providers.vk.urls import vk_profile_url

USERS_PER_CALL = 1000  # users.get `user_ids` maxItems
PROFILE_FIELDS = "bdate,city,country,contacts,site,about,photo_max_orig,photo_200,screen_name,domain"
PROFILE_FIELD_NAMES = frozenset(
    {
        "first_name",
        "last_name",
        "full_name",
        "birthday",
        "mobile_phone",
        "home_phone",
        "city",
        "country",
        "website",
        "about",
        "photo_url",
        "screen_name",
        "profile_url",
    }
)


def parse_bdate(raw: object) -> Birthday | None:
    """VK `bdate`: "D.M.YYYY", or "D.M" when the year is hidden; anything else is no birthday."""
    if not isinstance(raw, str):
        return None
    parts = raw.split(".")
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts):
        return None
    day, month = int(parts[0]), int(parts[1])
    year = int(parts[2]) if len(parts) == 3 else None
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return None
    return Birthday(day, month, year)


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _title(value: object) -> str | None:
    return _text(value.get("title")) if isinstance(value, dict) else None


def _url(domain: str | None, account_id: str) -> str:
    if domain and not (domain.startswith("id") and domain[2:] == account_id):
        try:
            return vk_profile_url(ProfileRef("vk", "screen_name", domain.lower()))
        except ValueError:
            pass  # a name our URL rules refuse: fall back to the id form, which always works
    return vk_profile_url(ProfileRef("vk", "id", account_id))


def to_profile(user: dict[str, Any]) -> Profile:
    account_id = str(user["id"])
    first = _text(user.get("first_name"))
    last = _text(user.get("last_name"))
    deactivated = _text(user.get("deactivated"))
    if deactivated:
        # VK's shell of a deleted/banned page ("DELETED") is not a name worth importing.
        return Profile(
            "vk", AccountId(account_id), deactivated=deactivated, profile_url=_url(None, account_id)
        )
    domain = _text(user.get("screen_name")) or _text(user.get("domain"))
    is_private = bool(user.get("is_closed")) and not user.get("can_access_closed")
    photo = first_present(user, "photo_max_orig", "photo_200")
    return Profile(
        network="vk",
        account_id=AccountId(account_id),
        first_name=first,
        last_name=last,
        full_name=" ".join(part for part in (first, last) if part) or None,
        birthday=parse_bdate(user.get("bdate")),
        mobile_phone=_text(user.get("mobile_phone")),
        home_phone=_text(user.get("home_phone")),
        city=_title(user.get("city")),
        country=_title(user.get("country")),
        website=_text(user.get("site")),
        about=_text(user.get("about")),
        photo_url=_text(photo),
        screen_name=domain,
        profile_url=_url(domain, account_id),
        is_closed=is_private,
    )
