"""A per-token rate limiter: server hints first, then a local token bucket on an injected clock.

Networks punish bursts (VK answers error 6 beyond 3 requests/s for a user token, 20/s for a
community token; X closes a 15-minute window with 429). Each provider owns one `RateLimiter` per
token and calls `acquire()` before every request and `defer(seconds)` when the server says "wait".
The clock and the sleep function are injected so tests advance time without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RateLimiter:
    """Token bucket: `rate` requests per second on average, bursts of at most `burst`.

    Args:
        rate: sustained requests per second (> 0).
        burst: bucket size; defaults to `rate` rounded up (VK counts per whole second).
        clock: monotonic clock in seconds.
        sleep: how to wait; tests pass a fake that advances their clock.
    """

    def __init__(
        self,
        rate: float,
        burst: int | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate!r}")
        self.rate = float(rate)
        self.burst = max(1, burst if burst is not None else int(-(-rate // 1)))
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._updated = clock()
        self._blocked_until = 0.0
        self.waited = 0.0  # total seconds spent waiting, for benchmarks

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._updated = now

    def reserve(self) -> float:
        """Take one token and return how long the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            # A server hint ("retry after N s") outranks the local budget.
            hint_wait = max(0.0, self._blocked_until - now)
            self._tokens -= 1.0
            budget_wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
            return max(hint_wait, budget_wait)

    def acquire(self) -> None:
        """Block until one request may be made."""
        wait = self.reserve()
        if wait > 0:
            self.waited += wait
            self._sleep(wait)

    def defer(self, seconds: float) -> None:
        """The server asked us to wait `seconds` before the next request; empty the bucket too."""
        with self._lock:
            now = self._clock()
            self._blocked_until = max(self._blocked_until, now + max(0.0, seconds))
            self._tokens = min(self._tokens, 0.0)
            self._updated = now

    def blocked_for(self) -> float:
        """Seconds until a server hint expires (0 when none is in force)."""
        with self._lock:
            return max(0.0, self._blocked_until - self._clock())


class FakeClock:
    """A manual monotonic clock whose `sleep` advances time; shared by tests and benchmarks."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
