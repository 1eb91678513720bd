"""A per-token rate limiter: server hints first, then a local token bucket on an injected clock.

Networks punish bursts (VK answers error 6 beyond 3 requests/s for a user token, 20/s for a
community token; X closes a 15-minute window with 429). Each provider owns one `RateLimiter` per
token and calls `acquire()` before every request and `defer(seconds)` when the server says "wait";
each network's `rate.py` says how its limiter is built. The clock and the sleep function are injected
so tests advance time without sleeping (`tests/fakes.py` has a clock for that).
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
        # After a server hint `_updated` lies in the future (the bucket is frozen until the hint ends);
        # time must not run backwards and refill tokens the hint forbade.
        if now <= self._updated:
            return
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self) -> float:
        """Take one token and return how long the caller must wait before using it."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self._tokens -= 1.0
            # The bucket's state holds at `_updated` (later than now while a hint is in force), so the
            # wait is the time until then plus the time to earn back any deficit at the sustained rate.
            budget_wait = (self._updated - now) + max(0.0, -self._tokens) / self.rate
            hint_wait = self._blocked_until - now
            return max(0.0, hint_wait, budget_wait)

    def acquire(self) -> None:
        """Block until one request may be made.

        A hint that arrives while we sleep (another thread got "retry after N s") outranks the slot we
        reserved before it: we then reserve again behind the hint instead of firing into it.
        """
        while True:
            wait = self.reserve()
            if wait > 0:
                with self._lock:
                    self.waited += wait
                self._sleep(wait)
            if self.blocked_for() <= 0:
                return

    def defer(self, seconds: float) -> None:
        """The server asked us to wait `seconds` before the next request.

        Nothing may go out before the hint ends, and the bucket does not fill up while it is in force:
        when the hint ends one request may go, the rest follow at the sustained rate (not as a burst,
        which is exactly what the server just complained about).
        """
        with self._lock:
            now = self._clock()
            self._refill(now)
            until = now + max(0.0, seconds)
            self._blocked_until = max(self._blocked_until, until)
            if until > self._updated:
                self._tokens = min(1.0, self._tokens + (until - self._updated) * self.rate)
                self._updated = until

    def blocked_for(self) -> float:
        """Seconds until a server hint expires (0 when none is in force)."""
        with self._lock:
            return max(0.0, self._blocked_until - self._clock())
