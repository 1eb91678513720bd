"""Test doubles shared by the suites that are not servers (those live in `sandbox/`)."""

from __future__ import annotations


class FakeClock:
    """A manual monotonic clock whose `sleep` advances time; for `RateLimiter(clock=..., sleep=...)`."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
