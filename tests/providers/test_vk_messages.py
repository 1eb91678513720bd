"""fetch_messages: newest first import, then a cursor that never skips or repeats, at 1 request when idle."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from providers.base import AccountId, Direction, NetworkMessage
from providers.vk import VkProvider, random_id_for
from sandbox._http import Request, Response
from sandbox.vk import VkSandbox
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vk(clock: FakeClock) -> Iterator[VkSandbox]:
    with VkSandbox(clock=clock) as sandbox:
        yield sandbox


@pytest.fixture
def provider(vk: VkSandbox, clock: FakeClock) -> Iterator[VkProvider]:
    with VkProvider(
        vk.community_token, group_id=vk.group_id, api_url=vk.url, clock=clock, sleep=clock.sleep
    ) as p:
        yield p


def ids(messages: list[NetworkMessage]) -> list[int]:
    return [int(m.message_id) for m in messages]


def test_first_call_takes_the_newest_limit_oldest_first(provider: VkProvider, vk: VkSandbox) -> None:
    people = [vk.add_user(f"P{n}", "X") for n in range(3)]
    sent = [vk.incoming(people[n % 3], f"m{n}") for n in range(30)]
    messages, cursor = provider.fetch_messages(None, 20)
    assert ids(messages) == sent[-20:]
    assert cursor == str(sent[-1])


def test_no_messages_at_all_then_everything_from_the_start(provider: VkProvider, vk: VkSandbox) -> None:
    messages, cursor = provider.fetch_messages(None, 20)
    assert messages == [] and cursor == "0"
    uid = vk.add_user("A", "B")
    first = [vk.incoming(uid, f"m{n}") for n in range(3)]
    messages, cursor = provider.fetch_messages(cursor, 20)
    assert ids(messages) == first and cursor == str(first[-1])


def test_idle_call_costs_exactly_one_request(provider: VkProvider, vk: VkSandbox) -> None:
    uid = vk.add_user("A", "B")
    vk.incoming(uid, "hi")
    _, cursor = provider.fetch_messages(None, 20)
    vk.reset_log()
    messages, again = provider.fetch_messages(cursor, 20)
    assert messages == [] and again == cursor
    assert vk.count() == 1 and vk.count("messages.getConversations") == 1


def test_twenty_messages_from_twenty_peers_in_at_most_three_requests(
    provider: VkProvider, vk: VkSandbox
) -> None:
    people = [vk.add_user(f"P{n}", "X") for n in range(20)]
    vk.incoming(people[0], "old")
    _, cursor = provider.fetch_messages(None, 20)
    fresh = [vk.incoming(person, f"hello from {person}") for person in people]
    vk.reset_log()
    messages, cursor = provider.fetch_messages(cursor, 20)
    assert ids(messages) == fresh and cursor == str(fresh[-1])
    assert vk.count() <= 3
    assert {m.peer_id for m in messages} == {str(p) for p in people}


def test_both_directions_with_random_id_of_our_own_sends(provider: VkProvider, vk: VkSandbox) -> None:
    uid = vk.add_user("A", "B")
    _, cursor = provider.fetch_messages(None, 20)
    inbound = vk.incoming(uid, "question")
    ours = provider.send_message(AccountId(str(uid)), "answer", "outbox-1")
    outside = vk.outgoing_outside(uid, "typed in VK")
    messages, _ = provider.fetch_messages(cursor, 20)
    assert ids(messages) == [inbound, int(ours.message_id), outside]
    assert [m.direction for m in messages] == [Direction.IN, Direction.OUT, Direction.OUT]
    assert [m.random_id for m in messages] == [None, random_id_for("outbox-1"), None]
    assert messages[0].text == "question" and messages[0].sent_at.tzinfo is not None
    assert all(m.peer_id == str(uid) for m in messages)


def test_45_new_with_limit_20_three_calls_none_twice_none_skipped(
    provider: VkProvider, vk: VkSandbox
) -> None:
    people = [vk.add_user(f"P{n}", "X") for n in range(4)]
    vk.incoming(people[0], "before")
    _, cursor = provider.fetch_messages(None, 20)
    new = [vk.incoming(people[n % 4], f"m{n}") for n in range(45)]
    batches = []
    for _ in range(3):
        messages, cursor = provider.fetch_messages(cursor, 20)
        batches.append(ids(messages))
    assert [len(b) for b in batches] == [20, 20, 5]
    assert [i for b in batches for i in b] == new


def test_messages_arriving_between_calls_are_neither_skipped_nor_repeated(
    provider: VkProvider, vk: VkSandbox
) -> None:
    people = [vk.add_user(f"P{n}", "X") for n in range(5)]
    vk.incoming(people[0], "before")
    _, cursor = provider.fetch_messages(None, 20)
    expected = [vk.incoming(people[n % 5], f"m{n}") for n in range(45)]
    seen: list[int] = []
    for round_ in range(10):
        messages, cursor = provider.fetch_messages(cursor, 20)
        seen += ids(messages)
        if round_ < 3:  # more arrive, in the oldest and the newest conversations alike
            expected += [vk.incoming(people[(round_ + k) % 5], f"late{round_}.{k}") for k in range(7)]
            expected.append(vk.outgoing_outside(people[4], f"ui{round_}"))
    assert seen == expected  # every message once, in id order


def test_a_conversation_with_more_news_than_one_window(provider: VkProvider, vk: VkSandbox) -> None:
    chatty, quiet = vk.add_user("Chatty", "X"), vk.add_user("Quiet", "X")
    vk.incoming(quiet, "before")
    _, cursor = provider.fetch_messages(None, 20)
    expected = []
    for n in range(260):
        expected.append(vk.incoming(chatty, f"c{n}"))
        if n % 50 == 0:
            expected.append(vk.incoming(quiet, f"q{n}"))
    seen: list[int] = []
    while True:
        messages, cursor = provider.fetch_messages(cursor, 250)
        if not messages:
            break
        seen += ids(messages)
    assert seen == expected


@pytest.mark.parametrize("seed", range(4))
def test_random_interleavings_deliver_every_message_exactly_once(
    provider: VkProvider, vk: VkSandbox, seed: int
) -> None:
    rng = random.Random(seed)
    people = [vk.add_user(f"P{n}", "X") for n in range(30)]
    vk.incoming(people[0], "before")
    _, cursor = provider.fetch_messages(None, 5)
    expected: list[int] = []
    seen: list[int] = []
    for _ in range(12):
        for _ in range(rng.randrange(0, 40)):
            person = rng.choice(people)
            add = vk.incoming if rng.random() < 0.7 else vk.outgoing_outside
            expected.append(add(person, "x"))
        messages, cursor = provider.fetch_messages(cursor, rng.randrange(1, 30))
        seen += ids(messages)
    while True:
        messages, cursor = provider.fetch_messages(cursor, 50)
        if not messages:
            break
        seen += ids(messages)
    assert seen == expected


def test_messages_arriving_during_a_call_wait_for_the_next_one(provider: VkProvider, vk: VkSandbox) -> None:
    a, b, newcomer = vk.add_user("A", "X"), vk.add_user("B", "X"), vk.add_user("New", "X")
    vk.incoming(a, "before")
    _, cursor = provider.fetch_messages(None, 20)
    expected = [vk.incoming(a, "a1"), vk.incoming(b, "b1")]
    late: list[int] = []

    def arrive_then_answer(request: Request) -> Response:
        # Between getConversations and the history batch: a new conversation and news in a known one.
        late.extend([vk.incoming(newcomer, "n1"), vk.incoming(a, "a2")])
        return vk.handle(request)

    vk.faults.custom(arrive_then_answer, operation="execute")
    first, cursor = provider.fetch_messages(cursor, 20)
    assert ids(first) == expected  # a2 was visible in A's history but is above the snapshot mark
    second, cursor = provider.fetch_messages(cursor, 20)
    assert ids(second) == late


def test_a_foreign_cursor_is_refused(provider: VkProvider) -> None:
    with pytest.raises(ValueError, match="cursor"):
        provider.fetch_messages("x:42", 20)
    with pytest.raises(ValueError):
        provider.fetch_messages(None, 0)
