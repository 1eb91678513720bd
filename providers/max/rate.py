"""MAX's rate budget: the requests per second a bot token may make, and the backoff after a 429.

MAX allows "at most 30 requests per second" to the API host (contracts/max-bot-api/README.md: stated
inside `POST /uploads`); the bridge stays under it and spaces requests evenly (`burst=1`). A 429 carries no
documented code and no retry-after hint: the transport backs off `BACKOFF_FIRST` seconds, doubling per 429
in a row up to `BACKOFF_MAX`, as MAX's own TypeScript client does, unless a `Retry-After` header says
otherwise (`transport.py`).
"""

from __future__ import annotations

from typing import Any

from providers.ratelimit import RateLimiter

DEFAULT_RPS = 25.0  # under the 30 requests/s MAX allows
BACKOFF_FIRST, BACKOFF_MAX = 5.0, 60.0


def default_limiter(**kwargs: Any) -> RateLimiter:
    """The limiter of a provider built without one."""
    return RateLimiter(DEFAULT_RPS, burst=1, **kwargs)


def rate_limiter(configured_rate: float) -> RateLimiter:
    """The limiter for a configured `rate_limit` (requests per second), evenly spaced."""
    return RateLimiter(configured_rate, burst=1)
