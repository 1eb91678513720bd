"""When a send that failed for a reason that may pass (the network down, a rate limit, a rejected token)
is tried again: the policy `Sender` applies to each target (`bridge.services.sending`)."""

from __future__ import annotations

import datetime as dt


def backoff_delay(
    attempts: int, *, base: dt.timedelta = dt.timedelta(seconds=30), cap: dt.timedelta = dt.timedelta(hours=1)
) -> dt.timedelta:
    """Exponential backoff after `attempts` failed attempts: base, 2*base, 4*base, ... capped at `cap`."""
    if attempts < 1:
        return dt.timedelta(0)
    # Bound the exponent so huge attempt counts cannot overflow timedelta before the cap applies.
    factor: int = 2 ** min(attempts - 1, 30)
    return min(cap, base * factor)
