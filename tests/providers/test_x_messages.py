"""XProvider.fetch_messages: oldest first, integer cursors, no gap and no repeat under bursts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.base import AccountId, Direction, NetworkMessage
from providers.x import E_DM_EVENTS, E_ME, XProvider
from providers.x.messages import message_from_event
from sandbox.x import XSandbox
from tests.fakes import FakeClock
from tests.x_support import EPOCH_START, contract_violations, make_provider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH_START)


@pytest.fixture
def x(clock: FakeClock) -> Iterator[XSandbox]:
    # Ids start 100 strides below 10**18, so they gain a digit mid-test: a string comparison
    # ("1000..." < "9999...") would lose or repeat messages there.
    with XSandbox(clock=clock, first_event_id=10**18 - 100 * 4_194_305) as sandbox:
        yield sandbox
        assert contract_violations(sandbox) == []


@pytest.fixture
def provider(x: XSandbox, clock: FakeClock) -> Iterator[XProvider]:
    with make_provider(x, clock) as p:
        yield p


def drain(provider: XProvider, cursor: str | None, limit: int) -> tuple[list[NetworkMessage], str | None]:
    seen: list[NetworkMessage] = []
    for _ in range(100):
        batch, cursor = provider.fetch_messages(cursor, limit)
        seen.extend(batch)
        if not batch:
            return seen, cursor
    raise AssertionError("fetch_messages never ran dry")


def test_first_call_returns_the_newest_oldest_first(
    x: XSandbox, clock: FakeClock, provider: XProvider
) -> None:
    peer = x.add_user("client", "Client")
    for i in range(5):
        x.incoming_dm(peer, f"in {i}")
        clock.now += 1
    messages, cursor = provider.fetch_messages(None, 3)
    assert [m.text for m in messages] == ["in 2", "in 3", "in 4"]
    assert cursor == messages[-1].message_id
    m = messages[0]
    assert (m.network, m.peer_id, m.direction) == ("x", peer, Direction.IN)
    assert m.sent_at == dt.datetime.fromtimestamp(EPOCH_START + 2, dt.UTC)


def test_direction_and_peer_of_our_own_messages(x: XSandbox, provider: XProvider) -> None:
    peer = x.add_user("client", "Client")
    x.incoming_dm(peer, "question")
    provider.send_message(AccountId(peer), "answer", "k")
    messages, _ = provider.fetch_messages(None, 10)
    assert [(m.text, m.direction, m.peer_id) for m in messages] == [
        ("question", Direction.IN, peer),
        ("answer", Direction.OUT, peer),
    ]


def test_burst_larger_than_limit_is_delivered_without_gap_or_repeat(x: XSandbox, provider: XProvider) -> None:
    a, b = x.add_user("a", "A"), x.add_user("b", "B")
    x.incoming_dm(a, "before")
    _, cursor = provider.fetch_messages(None, 10)
    sent = [x.incoming_dm(a if i % 3 else b, f"burst {i}") for i in range(230)]
    assert len(str(int(sent[0]))) < len(str(int(sent[-1])))  # the ids gained a digit inside the burst
    seen, cursor = drain(provider, cursor, 7)
    assert [m.message_id for m in seen] == sent
    later = x.incoming_dm(b, "after")
    more, _ = provider.fetch_messages(cursor, 7)
    assert [m.message_id for m in more] == [later]


def test_idle_run_costs_one_request(x: XSandbox, provider: XProvider) -> None:
    peer = x.add_user("client", "Client")
    x.incoming_dm(peer, "hello")
    _, cursor = provider.fetch_messages(None, 20)
    provider.stats.clear()
    for _ in range(3):
        messages, cursor = provider.fetch_messages(cursor, 20)
        assert messages == []
    assert provider.stats == {E_DM_EVENTS: 3}  # `GET /2/users/me` was asked once, before


def test_empty_account_then_first_messages(x: XSandbox, provider: XProvider) -> None:
    messages, cursor = provider.fetch_messages(None, 5)
    assert messages == [] and cursor == "0"
    peer = x.add_user("client", "Client")
    first = x.incoming_dm(peer, "first ever")
    messages, cursor = provider.fetch_messages(cursor, 5)
    assert [m.message_id for m in messages] == [first] and cursor == first
    assert provider.stats[E_ME] == 1


def test_group_events_are_consumed_not_returned() -> None:
    event = {
        "id": "5",
        "event_type": "MessageCreate",
        "text": "hi all",
        "sender_id": "7",
        "dm_conversation_id": "1585823815904395264",
    }
    assert message_from_event(event, "1") is None
    one_to_one = dict(
        event,
        dm_conversation_id="1-7",
        entities={
            "urls": [
                {"url": "https://t.co/abc", "expanded_url": "https://shop.example/x", "start": 0, "end": 1}
            ]
        },
        text="see https://t.co/abc",
        attachments={"media_keys": ["3_1"]},
    )
    message = message_from_event(one_to_one, "1")
    assert message is not None
    assert (message.text, message.peer_id, message.attachments) == (
        "see https://shop.example/x",
        "7",
        ("x-media:3_1",),
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=st.lists(st.tuples(st.integers(0, 12), st.integers(1, 6)), min_size=1, max_size=6))
def test_any_arrival_pattern_is_seen_exactly_once(
    x: XSandbox, provider: XProvider, plan: list[tuple[int, int]]
) -> None:
    peer = x.add_user("client", "Client")
    _, cursor = provider.fetch_messages(None, 100)  # start after whatever earlier examples left behind
    expected: list[str] = []
    seen: list[str] = []
    for arrivals, limit in plan:
        expected += [x.incoming_dm(peer, "m") for _ in range(arrivals)]
        batch, cursor = provider.fetch_messages(cursor, limit)
        seen += [m.message_id for m in batch]
    rest, _ = drain(provider, cursor, 5)
    seen += [m.message_id for m in rest]
    assert seen == expected
