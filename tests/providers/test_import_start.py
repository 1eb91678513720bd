"""`Provider.start_cursor`: the first import starts where `networks.<n>.imports.start` says, and
`fetch_messages` then hands out every message after that point over the following calls — on VK, X and
Facebook, each against its sandbox over real HTTP, with messages dated days and weeks back."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from providers.facebook import FacebookProvider
from providers.vk import VkProvider
from sandbox.facebook import FacebookSandbox, UtcClock
from sandbox.vk import VkSandbox
from sandbox.x import XSandbox
from tests.fakes import FakeClock
from tests.x_support import EPOCH_START, make_provider

DAY = 86400.0
# (age in days at the end of the set-up, how many messages): oldest first, as they were written.
TIMELINE = [(40.0, 3), (20.0, 3), (5.0, 3), (0.5, 3)]


@dataclass
class Timeline:
    name: str
    provider: Any
    write: Callable[[float, str], None]  # a client writes `text`, `age` days before the end of the set-up
    finish: Callable[[], None]  # the clock reaches the end of the set-up
    history_days: float | None  # how far back the network lists messages (None: all)


def _vk() -> Iterator[Timeline]:
    with VkSandbox() as box:
        people = [box.add_user(f"P{n}", "Start", screen_name=f"start_{n}") for n in range(3)]
        now = time.time()
        turn = iter(range(10**6))
        provider = VkProvider(box.community_token, group_id=box.group_id, api_url=box.url)
        yield Timeline(
            "vk",
            provider,
            lambda age, text: box.incoming(people[next(turn) % 3], text, date=int(now - age * DAY)) and None,
            lambda: None,
            None,
        )
        provider.close()


def _x() -> Iterator[Timeline]:
    end = EPOCH_START
    clock = FakeClock(end - 45 * DAY)
    with XSandbox(clock=clock) as box:
        people = [box.add_user(f"start_{n}", f"Start {n}") for n in range(3)]
        turn = iter(range(10**6))
        provider = make_provider(box, clock)

        def write(age: float, text: str) -> None:
            clock.now = end - age * DAY
            box.incoming_dm(people[next(turn) % 3], text)

        yield Timeline("x", provider, write, lambda: setattr(clock, "now", end), 30.0)
        provider.close()


def _facebook() -> Iterator[Timeline]:
    end = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    clock = UtcClock(end - dt.timedelta(days=45))
    with FacebookSandbox(clock=clock) as box:
        people = [box.add_person(f"P{n}", "Start") for n in range(3)]
        turn = iter(range(10**6))
        provider = FacebookProvider(box.page_token, box.page_id, api_url=box.url, now=clock)

        def write(age: float, text: str) -> None:
            clock.advance(seconds=(end - dt.timedelta(days=age) - clock()).total_seconds())
            box.incoming(people[next(turn) % 3], text)

        def finish() -> None:
            clock.advance(seconds=(end - clock()).total_seconds())

        yield Timeline("facebook", provider, write, finish, None)
        provider.close()


@pytest.fixture(params=["vk", "x", "facebook"])
def timeline(request: pytest.FixtureRequest) -> Iterator[Timeline]:
    factory = {"vk": _vk, "x": _x, "facebook": _facebook}[request.param]
    yield from factory()


def _populate(t: Timeline) -> dict[str, float]:
    ages: dict[str, float] = {}
    for age, count in TIMELINE:
        for n in range(count):
            text = f"{age}d-{n}"
            t.write(age, text)
            ages[text] = age
    t.finish()
    return ages


def _drain(t: Timeline, cursor: str, limit: int = 2) -> tuple[list[str], str]:
    """Call fetch_messages like the importer does, run after run, until nothing new comes."""
    texts: list[str] = []
    for _ in range(100):
        batch, cursor = t.provider.fetch_messages(cursor, limit)
        assert cursor is not None
        if not batch:
            return texts, cursor
        assert len(batch) <= limit
        texts += [m.text for m in batch]
    raise AssertionError("fetch_messages never ran dry")


@pytest.mark.parametrize("last_days", [7.0, 25.0])
def test_last_days_imports_exactly_the_messages_of_those_days(timeline: Timeline, last_days: float) -> None:
    ages = _populate(timeline)
    texts, _ = _drain(timeline, timeline.provider.start_cursor(last_days))
    assert len(texts) == len(set(texts)), "a message came twice"
    assert sorted(texts) == sorted(t for t, age in ages.items() if age < last_days)


def test_all_imports_everything_the_network_still_lists(timeline: Timeline) -> None:
    ages = _populate(timeline)
    texts, _ = _drain(timeline, timeline.provider.start_cursor(None), limit=3)
    listed = timeline.history_days
    assert len(texts) == len(set(texts))
    assert sorted(texts) == sorted(t for t, age in ages.items() if listed is None or age < listed)


def test_now_skips_the_past_and_takes_what_comes_next(timeline: Timeline) -> None:
    _populate(timeline)
    cursor = timeline.provider.start_cursor(0.0)
    texts, cursor = _drain(timeline, cursor)
    assert texts == []
    timeline.write(-0.001, "after the start")  # a minute and a half later
    texts, _ = _drain(timeline, cursor)
    assert texts == ["after the start"]


def test_messages_arriving_during_the_catch_up_are_not_skipped(timeline: Timeline) -> None:
    ages = _populate(timeline)
    cursor = timeline.provider.start_cursor(25.0)
    batch, cursor = timeline.provider.fetch_messages(cursor, 2)
    texts = [m.text for m in batch]
    timeline.write(-0.001, "late-1")
    timeline.write(-0.002, "late-2")
    more, _ = _drain(timeline, cursor)
    texts += more
    assert len(texts) == len(set(texts))
    assert sorted(texts) == sorted([t for t, age in ages.items() if age < 25] + ["late-1", "late-2"])


def test_vk_reads_a_long_conversation_back_page_by_page_to_find_the_start() -> None:
    with VkSandbox() as box:
        uid = box.add_user("Long", "Talk", screen_name="long_talk")
        other = box.add_user("Short", "Talk", screen_name="short_talk")
        now = time.time()
        old = [box.incoming(uid, f"old-{n}", date=int(now - 10 * DAY + n)) for n in range(10)]
        recent = [
            box.incoming(other if n % 9 == 5 else uid, f"new-{n}", date=int(now - 3 * DAY + n))
            for n in range(450)
        ]  # over two pages of 200 in the long conversation
        with VkProvider(box.community_token, group_id=box.group_id, api_url=box.url) as provider:
            cursor = provider.start_cursor(7.0)
            assert cursor == str(min(recent) - 1) and int(cursor) >= max(old)
            texts: list[str] = []
            for _ in range(10):
                batch, cursor = provider.fetch_messages(cursor, 200)
                texts += [m.text for m in batch]
    assert texts == [f"new-{n}" for n in range(450)]


def test_x_catches_up_without_re_reading_the_backlog_it_already_paid_for() -> None:
    """X bills each DM event read: a 200-event catch-up at 20 per call reads each event once, plus the
    first page of `limit` events each call reads to see whether anything is new (it used to re-read the
    whole remaining backlog on every call)."""
    clock = FakeClock(EPOCH_START - 3 * DAY)
    with XSandbox(clock=clock) as box:
        people = [box.add_user(f"backlog_{n}", f"Backlog {n}") for n in range(4)]
        for n in range(200):
            box.incoming_dm(people[n % 4], f"dm-{n}")
            clock.now += 60
        provider = make_provider(box, clock)
        try:
            cursor = provider.start_cursor(None)
            texts: list[str] = []
            for _ in range(12):
                batch, cursor = provider.fetch_messages(cursor, 20)
                texts += [m.text for m in batch]
                if len(texts) == 100:
                    box.incoming_dm(people[0], "arrived mid-way")  # new events are still found
        finally:
            provider.close()
        listed = [r for q, r in box.responses if q.operation == "dm_events"]
        reads = sum(len(json.loads(r.body).get("data", [])) for r in listed)
    assert texts == [f"dm-{n}" for n in range(200)] + ["arrived mid-way"]
    assert reads <= 201 + 12 * 20, f"{reads} events read for 201 messages in 12 calls"
