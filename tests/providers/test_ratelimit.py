"""The per-token rate limiter on a fake clock: sustained rate, bursts, server hints, threads."""

from __future__ import annotations

import threading

import pytest

from providers.ratelimit import RateLimiter
from tests.fakes import FakeClock


def limiter(rate: float, burst: int | None = None) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(rate, burst, clock=clock, sleep=clock.sleep), clock


def request_times(limit: RateLimiter, clock: FakeClock, count: int) -> list[float]:
    """Acquire `count` times in a row; the (relative) moment each request may go out."""
    start = clock.now
    times = []
    for _ in range(count):
        limit.acquire()
        times.append(round(clock.now - start, 9))
    return times


def test_a_full_bucket_lets_a_burst_through_without_waiting() -> None:
    limit, clock = limiter(rate=3)
    assert request_times(limit, clock, 3) == [0.0, 0.0, 0.0]
    assert clock.slept == []


def test_sustained_rate_is_held_after_the_burst() -> None:
    limit, clock = limiter(rate=3)
    times = request_times(limit, clock, 3 + 30)
    assert times[3:6] == pytest.approx([1 / 3, 2 / 3, 1.0])
    # 30 requests beyond the burst take exactly 10 s at 3/s.
    assert times[-1] == pytest.approx(10.0)
    assert limit.waited == pytest.approx(10.0)


def test_no_window_of_one_second_ever_holds_more_than_rate_plus_burst() -> None:
    limit, clock = limiter(rate=3)
    times = request_times(limit, clock, 60)
    for i, moment in enumerate(times):
        in_window = [t for t in times[i:] if t < moment + 1.0 - 1e-9]
        assert len(in_window) <= 3 + 3


def test_an_idle_bucket_refills_but_never_beyond_the_burst() -> None:
    limit, clock = limiter(rate=3, burst=5)
    request_times(limit, clock, 5)
    clock.now += 3600.0  # an hour idle
    assert request_times(limit, clock, 6) == pytest.approx([0, 0, 0, 0, 0, 1 / 3])


def test_burst_defaults_to_rate_rounded_up_and_is_at_least_one() -> None:
    assert RateLimiter(2.5, clock=FakeClock()).burst == 3
    assert RateLimiter(0.2, clock=FakeClock()).burst == 1
    assert RateLimiter(20, burst=0, clock=FakeClock()).burst == 1


@pytest.mark.parametrize("rate", [0, -1])
def test_a_rate_that_is_not_positive_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate, clock=FakeClock())


def test_server_hint_outranks_a_full_local_budget() -> None:
    limit, clock = limiter(rate=20)
    limit.defer(7.5)
    assert limit.blocked_for() == pytest.approx(7.5)
    assert request_times(limit, clock, 1) == [7.5]
    assert limit.blocked_for() == 0.0


def test_after_a_hint_requests_are_spaced_by_the_rate_not_released_as_a_burst() -> None:
    limit, clock = limiter(rate=1, burst=1)
    limit.defer(10.0)
    assert request_times(limit, clock, 3) == pytest.approx([10.0, 11.0, 12.0])


def test_callers_waiting_on_a_hint_do_not_all_wake_at_the_same_moment() -> None:
    limit, _ = limiter(rate=2, burst=1)
    limit.defer(5.0)
    waits = sorted(limit.reserve() for _ in range(4))
    assert waits == pytest.approx([5.0, 5.5, 6.0, 6.5])


def test_a_shorter_hint_never_shortens_a_longer_one() -> None:
    limit, clock = limiter(rate=10)
    limit.defer(30.0)
    limit.defer(2.0)
    limit.defer(-5.0)
    assert limit.blocked_for() == pytest.approx(30.0)
    assert request_times(limit, clock, 1) == [30.0]


def test_a_hint_that_arrives_while_a_caller_sleeps_is_still_honoured() -> None:
    clock = FakeClock()
    limit: RateLimiter

    def sleep_while_the_server_answers_429(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 1:  # another thread got "retry after 20 s" meanwhile
            limit.defer(20.0)

    limit = RateLimiter(1, 1, clock=clock, sleep=sleep_while_the_server_answers_429)
    limit.acquire()  # the bucket's one token
    start = clock.now
    limit.acquire()  # reserved a slot 1 s ahead, then the hint arrived during the sleep
    assert clock.now - start >= 1.0 + 20.0 - 1e-9


def test_reservations_from_many_threads_are_each_counted_once() -> None:
    clock = FakeClock()  # frozen: only `reserve` runs, so the waits show every token taken
    limit = RateLimiter(10, 5, clock=clock, sleep=clock.sleep)
    threads_count, per_thread = 8, 50
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads_count)

    def worker() -> None:
        start.wait()
        mine = [limit.reserve() for _ in range(per_thread)]
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    total = threads_count * per_thread
    assert len(waits) == total
    # 5 immediate, then exactly one slot every 0.1 s: no slot handed out twice, none skipped.
    expected = [0.0] * 5 + [k / 10 for k in range(1, total - 5 + 1)]
    assert sorted(waits) == pytest.approx(expected)


def test_concurrent_acquire_and_defer_never_deadlock_or_lose_the_hint() -> None:
    clock = FakeClock()
    guard = threading.Lock()

    def sleep(seconds: float) -> None:
        with guard:
            clock.sleep(seconds)

    limit = RateLimiter(50, 5, clock=clock, sleep=sleep)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for step in range(40):
                if index == 0 and step == 20:
                    limit.defer(3.0)
                limit.acquire()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert limit.blocked_for() == 0.0
    assert limit.waited > 3.0
