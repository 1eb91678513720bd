"""Which profile attribute fills which CRM field, and how a value is shaped for the field's type.

The default mapping reproduces SalesPlatform's own (`SPSocialConnectorHelper::addDataByModule` in its
`modules/SPSocialConnector`) with its bugs fixed: the website is imported, the Leads `phone` is filled only
when empty (the original overwrote it), and the country carries no stray leading space. Administrators change
it in config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from providers.base import Profile

# Profile attributes a mapping may name (the keys of `profile_values`).
PROFILE_ATTRIBUTES: tuple[str, ...] = (
    "first_name",
    "last_name",
    "full_name",
    "birthday",
    "email",
    "mobile_phone",
    "home_phone",
    "city",
    "country",
    "website",
    "about",
    "photo_url",
    "screen_name",
)

DEFAULT_FIELD_MAP: dict[str, dict[str, str]] = {
    "Contacts": {
        "first_name": "firstname",
        "last_name": "lastname",
        "birthday": "birthday",
        "email": "email",
        "mobile_phone": "mobile",
        "home_phone": "homephone",
        "city": "mailingcity",
        "country": "mailingcountry",
    },
    "Leads": {
        "first_name": "firstname",
        "last_name": "lastname",
        "email": "email",
        "mobile_phone": "mobile",
        "home_phone": "phone",
        "city": "city",
        "country": "country",
        "website": "website",
    },
    "Accounts": {
        "email": "email1",
        "mobile_phone": "phone",
        "home_phone": "otherphone",
        "city": "ship_city",
        "country": "ship_country",
        "website": "website",
    },
}

# vtiger field types (describe `type.name`) each attribute may be written into.
COMPATIBLE_TYPES: dict[str, frozenset[str]] = {
    "birthday": frozenset({"date"}),
    "email": frozenset({"email", "string"}),
    "mobile_phone": frozenset({"phone", "string"}),
    "home_phone": frozenset({"phone", "string"}),
    "website": frozenset({"url", "string"}),
    "photo_url": frozenset({"url", "string"}),
    "about": frozenset({"text", "string"}),
}
TEXT_TYPES = frozenset({"string", "text"})

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class FieldMap:
    """Per CRM module: profile attribute -> CRM field name."""

    by_module: Mapping[str, Mapping[str, str]]

    @classmethod
    def default(cls) -> FieldMap:
        return cls({m: dict(v) for m, v in DEFAULT_FIELD_MAP.items()})

    def for_module(self, module: str) -> Mapping[str, str]:
        return self.by_module.get(module, {})

    def compatible(self, attribute: str, field_type: str) -> bool:
        return field_type in COMPATIBLE_TYPES.get(attribute, TEXT_TYPES)


def clean_text(value: str | None) -> str | None:
    """Strip control characters and surrounding space; None for nothing left."""
    if value is None:
        return None
    cleaned = _CONTROL.sub("", str(value)).strip()
    return cleaned or None


def _full_url(value: str | None) -> str | None:
    value = clean_text(value)
    if value is None or any(ch.isspace() for ch in value):
        return None
    if not re.match(r"^https?://", value, re.IGNORECASE):
        value = "https://" + value
    return value


def profile_values(profile: Profile) -> dict[str, str]:
    """The profile's attributes as the strings the CRM stores; attributes without a value are absent.

    Birthdays become `YYYY-MM-DD` only when day, month and year are all known and form a real date;
    URLs become full URLs; phones are kept as the network gave them.
    """
    raw: dict[str, str | None] = {
        "first_name": clean_text(profile.first_name),
        "last_name": clean_text(profile.last_name),
        "full_name": clean_text(profile.full_name),
        "email": clean_text(profile.email),
        "mobile_phone": clean_text(profile.mobile_phone),
        "home_phone": clean_text(profile.home_phone),
        "city": clean_text(profile.city),
        "country": clean_text(profile.country),
        "website": _full_url(profile.website),
        "about": clean_text(profile.about),
        "photo_url": _full_url(profile.photo_url),
        "screen_name": clean_text(profile.screen_name),
    }
    birthday = profile.birthday.as_date() if profile.birthday else None
    raw["birthday"] = birthday.isoformat() if birthday else None
    return {key: value for key, value in raw.items() if value is not None}


def is_empty(value: object, field_type: str = "string") -> bool:
    """vtiger's notion of an empty field for the "fill only empty fields" rule.

    Missing, "" and whitespace are empty. "0" is a value for text fields (unlike PHP's empty(),
    which the original used); for dates vtiger's zero date also means "no date".
    """
    if value is None:
        return True
    text = str(value).strip()
    if not text:
        return True
    return field_type in {"date", "datetime"} and text.startswith("0000-00-00")
