"""Where a network's message import starts when it has no cursor yet (`networks.<n>.imports.start`).

    now           only messages that arrive from now on
    all           everything the network still returns (X: its last 30 days)
    last_days N   messages of the last N days before the first import

The first run turns this into the provider's cursor (`Provider.start_cursor`) and stores it before
fetching anything, so every later run continues from it and every message after the start is imported,
`limit` per run, over the following runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

START_FORMS = "now, all or last_days N"
DEFAULT_START = "last_days 30"


@dataclass(frozen=True, slots=True)
class ImportStart:
    days: float | None  # how far back, by the network's clock; None: everything; 0: from now on


def parse_start(text: str) -> ImportStart:
    """`now`, `all` or `last_days N`; raises ValueError naming the accepted forms."""
    words = str(text).strip().lower().replace(":", " ").split()
    if words == ["now"]:
        return ImportStart(0.0)
    if words == ["all"]:
        return ImportStart(None)
    if len(words) == 2 and words[0] == "last_days":
        try:
            days = float(words[1])
        except ValueError:
            days = math.nan
        if math.isfinite(days) and 0 < days <= 100_000:
            return ImportStart(days)
    raise ValueError(f"must be {START_FORMS} (N > 0 days before the first import)")
