"""X's rate budget: per-endpoint 15-minute windows the server announces, and the bridge's local pace.

X rate-limits per token *and endpoint* in 15-minute windows and says so in every answer
(`x-rate-limit-limit/remaining/reset`, reset in epoch seconds; docs.x.com x-api fundamentals/rate-limits).
`Windows` remembers each endpoint's window and refuses locally when it is spent, so an exhausted window
costs no request (DM calls cost money); the `RateLimiter` adds the local budget and the server's "wait"
hints after a 429.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import requests

from providers.errors import ProviderRateLimited
from providers.ratelimit import RateLimiter

log = logging.getLogger(__name__)

NETWORK = "x"
# X's user limits are per 15 minutes; 1 request/s with bursts of 10 keeps a daemon polite.
DEFAULT_RPS = 1.0
DEFAULT_BURST = 10
# Waits up to this long are slept through; longer ones are raised so the bridge can reschedule.
MAX_INLINE_WAIT = 5.0
DEFAULT_RETRY_AFTER = 60.0  # a 429 without a usable reset header


def default_limiter(**kwargs: Any) -> RateLimiter:
    """The limiter of a provider built without one."""
    return RateLimiter(DEFAULT_RPS, DEFAULT_BURST, **kwargs)


def rate_limiter(configured_rate: float) -> RateLimiter:
    """The limiter for `networks.x.rate_limit` (requests per second)."""
    return RateLimiter(configured_rate)


class Windows:
    """X's announced window per endpoint: (requests remaining, reset time in epoch seconds)."""

    def __init__(
        self, *, wall_clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._wall = wall_clock
        self._sleep = sleep
        self.by_endpoint: dict[str, tuple[int, float]] = {}

    def wait_for(self, endpoint: str) -> None:
        """Sleep out a short spent window; raise ProviderRateLimited for a long one (no request made)."""
        remaining, reset = self.by_endpoint.get(endpoint, (1, 0.0))
        wait = reset - self._wall()
        if remaining > 0 or wait <= 0:
            return
        if wait > MAX_INLINE_WAIT:
            raise ProviderRateLimited(
                f"X's limit for {endpoint} is used up for this 15-minute window; "
                f"the bridge will try again in {int(wait) + 1} s.",
                retry_after=wait,
                network=NETWORK,
                code="window-exhausted",
            )
        self._sleep(wait)

    def note(self, endpoint: str, response: requests.Response) -> None:
        """Remember the window an answer announces."""
        remaining = response.headers.get("x-rate-limit-remaining")
        reset = response.headers.get("x-rate-limit-reset")
        if remaining is None or reset is None:
            return
        try:
            self.by_endpoint[endpoint] = (int(remaining), float(reset))
        except ValueError:
            log.warning("X sent unreadable rate-limit headers for %s", endpoint)

    def exhaust(self, endpoint: str, retry_after: float) -> None:
        """A 429: nothing more goes to `endpoint` for `retry_after` seconds."""
        self.by_endpoint[endpoint] = (0, self._wall() + retry_after)

    def retry_after(self, response: requests.Response) -> float:
        """Seconds until the window of a 429 answer resets (`DEFAULT_RETRY_AFTER` without the header)."""
        try:
            reset = float(response.headers["x-rate-limit-reset"])
        except (KeyError, ValueError):
            return DEFAULT_RETRY_AFTER
        return max(0.0, reset - self._wall())
