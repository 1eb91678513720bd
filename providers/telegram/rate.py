"""Telegram's rate budget: how many requests per second a bot token may make, and the bridge's pace.

Telegram's Bot FAQ (core.telegram.org/bots/faq, "Broadcasting to Users") puts a bot at about 30 messages
per second to different users (about 1 per second in one chat) and answers 429 with
`parameters.retry_after` beyond that; the transport
defers the limiter by that hint (`transport.py`). The bridge stays under the limit and spaces requests
evenly (`burst=1`).
"""

from __future__ import annotations

from typing import Any

from providers.ratelimit import RateLimiter

DEFAULT_RPS = 25.0  # under the ~30 messages/s a bot may send


def default_limiter(**kwargs: Any) -> RateLimiter:
    """The limiter of a provider built without one."""
    return RateLimiter(DEFAULT_RPS, burst=1, **kwargs)


def rate_limiter(configured_rate: float) -> RateLimiter:
    """The limiter for a configured `rate_limit` (requests per second), evenly spaced."""
    return RateLimiter(configured_rate, burst=1)
