"""VK's rate budget: how many requests per second a token may make, and the margin the bridge keeps.

VK counts requests per token and per whole second (the old vk.com/dev/api_requests: 3/s for a user token,
20/s for a community token) and answers error 6 beyond that. The limiter spaces requests
evenly (`burst=1`): a full bucket plus its refill would otherwise allow almost twice the rate inside one
second.
"""

from __future__ import annotations

from typing import Any

from providers.ratelimit import RateLimiter

DEFAULT_RPS = {"community": 20.0, "user": 3.0}

# Requests reach VK a few ms late by varying amounts; at exactly the limit, 21 arrivals fall into one
# of VK's 1-second windows now and then, error 6 pauses the token for a second and the send rate halves
# (benchmarks/providers.py: 0.51 of the limit at 100 %, 0.96 at 95 %).
RATE_MARGIN = 0.95


def default_limiter(token_type: str, **kwargs: Any) -> RateLimiter:
    """The limiter of a provider built without one: VK's own limit for the token type."""
    return RateLimiter(DEFAULT_RPS[token_type], burst=1, **kwargs)


def rate_limiter(configured_rate: float, **kwargs: Any) -> RateLimiter:
    """The limiter for `networks.vk.rate_limit`: evenly spaced requests, a little under the limit."""
    return RateLimiter(configured_rate * RATE_MARGIN, burst=1, **kwargs)
