"""Graph times and the Facebook message cursor (`fb1.<base64 JSON>`; `FacebookProvider.fetch_messages`)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable

GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"


def parse_time(value: str) -> dt.datetime:
    """A Graph timestamp ("2026-03-02T09:00:00+0000") as an aware UTC datetime."""
    return dt.datetime.strptime(value, GRAPH_TIME).astimezone(dt.UTC)


def encode_cursor(since: dt.datetime, seen: Iterable[str]) -> str:
    raw = json.dumps({"since": since.strftime(GRAPH_TIME), "seen": sorted(seen)}, separators=(",", ":"))
    return "fb1." + base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, set[str]]:
    try:
        if not cursor.startswith("fb1."):
            raise ValueError("unknown cursor version")
        data = json.loads(base64.urlsafe_b64decode(cursor[4:].encode()))
        return parse_time(data["since"]), set(data["seen"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a Facebook message cursor: {cursor[:40]!r}") from exc
