"""Facebook's rate budget: the local pace of a Page token, and the server's "regain access" hints.

Graph reports usage in the `X-Business-Use-Case-Usage`, `X-Page-Usage` and `X-App-Usage` headers
(developers.facebook.com/docs/graph-api/overview/rate-limiting); a throttled call's header says how many
minutes until access returns, which the limiter then waits out.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from providers.ratelimit import RateLimiter

DEFAULT_RPS = 20
DEFAULT_RETRY_AFTER = 60.0  # a rate-limit error whose headers say nothing


def default_limiter(**kwargs: Any) -> RateLimiter:
    """The limiter of a provider built without one."""
    return RateLimiter(DEFAULT_RPS, **kwargs)


def rate_limiter(configured_rate: float) -> RateLimiter:
    """The limiter for `networks.facebook.rate_limit` (requests per second)."""
    return RateLimiter(configured_rate)


def retry_after(resp: requests.Response) -> float | None:
    """Seconds to wait, from `estimated_time_to_regain_access` (minutes) in the usage headers, or None."""
    minutes: list[float] = []
    for header in ("X-Business-Use-Case-Usage", "X-Page-Usage", "X-App-Usage"):
        try:
            usage = json.loads(resp.headers.get(header) or "{}")
        except ValueError:
            continue
        if not isinstance(usage, dict):
            continue
        # Business-use-case usage is {business_id: [entry, ...]}; the app/page headers are one flat entry.
        entries = [e for v in usage.values() if isinstance(v, list) for e in v] + [usage]
        for entry in entries:
            value = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
            if isinstance(value, int | float) and value > 0:
                minutes.append(float(value))
    return max(minutes) * 60.0 if minutes else None
