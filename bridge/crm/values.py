"""Values as vtiger stores and returns them: emoji on a 3-byte-utf8 database, HTML-escaped answers,
columns that cut what does not fit."""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

ELLIPSIS = "…"


def _astral_standin(char: str) -> str:
    name = unicodedata.name(char, "")
    return f":{name.lower().replace(' ', '_')}:" if name else "?"


def bmp_safe(text: str) -> str:
    """Replace characters outside the Basic Multilingual Plane (most emoji) by readable names.

    SalesPlatform's default MySQL charset (3-byte utf8) stores them as `?`; `:grinning_face:` keeps the
    meaning. Variation selectors and zero-width joiners left alone would render oddly, so they go too.
    """
    out: list[str] = []
    for char in text:
        if ord(char) > 0xFFFF:
            out.append(_astral_standin(char))
        elif char in "\ufe0f\u200d":
            continue
        else:
            out.append(char)
    return "".join(out)


def has_astral(text: str) -> bool:
    """Does `text` (as vtiger returned it, HTML-escaped or not) hold a character outside the BMP?"""
    return any(ord(char) > 0xFFFF for char in html.unescape(text))


def shorten(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to `limit` characters (ending in an ellipsis), and whether it had to be cut."""
    if len(text) <= limit:
        return text, False
    return text[: limit - 1].rstrip() + ELLIPSIS, True


def same_value(a: object, b: object) -> bool:
    """Equal as text people see: retrieve may return HTML-escaped text where workflow data is decoded."""
    return (
        html.unescape(str(a if a is not None else "")).strip()
        == html.unescape(str(b if b is not None else "")).strip()
    )


def same_text(stored: object, written: str) -> bool:
    """Is `stored` (a record field as vtiger returned it) the text the bridge wrote?"""
    # Some fields come back HTML-escaped (as sandbox/vtiger/storage.py imitates): compare unescaped.
    return html.unescape(str(stored)).strip() == written.strip()


@dataclass
class Stored:
    """What the CRM kept of a write: MySQL cuts a value longer than its column without an error."""

    values: dict[str, str] = field(default_factory=dict)  # field -> the value as kept
    shortened: dict[str, tuple[str, str]] = field(default_factory=dict)  # field -> (kept, written)


def as_stored(sent: Mapping[str, str], saved: Mapping[str, object]) -> Stored:
    """Compare the values written with the record vtiger answered the write with."""
    stored = Stored()
    for field_name, value in sent.items():
        raw = str(saved.get(field_name, value))
        # Some fields come back HTML-escaped; a value may itself contain "&amp;".
        if value.strip() in (raw.strip(), html.unescape(raw).strip()):
            stored.values[field_name] = value
            continue
        kept = raw if value.startswith(raw.rstrip()) else html.unescape(raw)
        stored.values[field_name] = kept
        stored.shortened[field_name] = (kept, value)
    return stored
