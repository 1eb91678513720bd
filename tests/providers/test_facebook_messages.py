"""FacebookProvider reading the Page inbox and avoiding double delivery, over real HTTP."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest

from providers.base import AccountId, Direction, NetworkMessage
from providers.errors import ProviderNotAllowed, ProviderUnavailable
from providers.facebook import FacebookProvider
from sandbox.facebook import FacebookSandbox
from tests.fakes import FakeClock


@pytest.fixture
def fb() -> Iterator[FacebookSandbox]:
    with FacebookSandbox() as sandbox:
        yield sandbox


def make(fb: FacebookSandbox) -> FacebookProvider:
    clock = FakeClock()
    return FacebookProvider(
        fb.page_token, fb.page_id, api_url=fb.url, now=fb.clock, clock=clock, sleep=clock.sleep
    )


@pytest.fixture
def provider(fb: FacebookSandbox) -> Iterator[FacebookProvider]:
    p = make(fb)
    yield p
    p.close()


def test_find_delivered_prevents_a_double_delivery_after_a_crash(fb: FacebookSandbox) -> None:
    psid = AccountId(fb.add_person("Ann", "Lee"))
    fb.incoming(psid, "hello")
    fb.advance(minutes=5)
    started = fb.clock()  # what the bridge stored in its outbox before calling the network
    fb.deliver_then_drop()  # Facebook delivers, the answer is lost, then the bridge "crashes"
    first = make(fb)
    with pytest.raises(ProviderUnavailable):
        first.send_message(psid, "Your order is ready", "outbox-7")
    first.close()
    assert len(fb.delivered_to(psid)) == 1

    fb.advance(minutes=1)
    restarted = make(fb)  # a new process: no memory of the attempt
    try:
        assert restarted.find_delivered(psid, "Another text", started) is None
        found = restarted.find_delivered(psid, "Your order is ready", started)
        assert found is not None and found.duplicate
        assert found.message_id == fb.delivered_to(psid)[0]["message_id"]
        later = fb.clock() + dt.timedelta(seconds=10)
        assert restarted.find_delivered(psid, "Your order is ready", later) is None  # sent before that
    finally:
        restarted.close()
    assert len(fb.delivered_to(psid)) == 1


def test_retry_after_a_lost_answer_does_not_deliver_twice(
    fb: FacebookSandbox, provider: FacebookProvider
) -> None:
    psid = AccountId(fb.add_person("Ann", "Lee"))
    fb.incoming(psid, "hello")
    fb.deliver_then_drop()
    with pytest.raises(ProviderUnavailable):
        provider.send_message(psid, "same words", "k1")
    again = provider.send_message(psid, "same words", "k1")
    assert again.duplicate and again.message_id == fb.delivered_to(psid)[0]["message_id"]
    assert len(fb.delivered_to(psid)) == 1
    # A request that never reached Facebook is sent on retry: exactly one delivery again.
    fb.faults.drop(operation="send")
    with pytest.raises(ProviderUnavailable):
        provider.send_message(psid, "second", "k2")
    assert not provider.send_message(psid, "second", "k2").duplicate
    assert [d["text"] for d in fb.delivered_to(psid)] == ["same words", "second"]


def test_fetch_messages_directions_peers_and_order(fb: FacebookSandbox, provider: FacebookProvider) -> None:
    ann, bob = fb.add_person("Ann", "Lee"), fb.add_person("Bob", "Ray")
    a1 = fb.incoming(ann, "from ann")
    fb.advance(seconds=1)
    b1 = fb.incoming(bob, "from bob")
    fb.advance(seconds=1)
    out = provider.send_message(AccountId(ann), "to ann", "k")
    msgs, cursor = provider.fetch_messages(None, 10)
    assert [(m.message_id, m.peer_id, m.direction, m.text) for m in msgs] == [
        (a1, ann, Direction.IN, "from ann"),
        (b1, bob, Direction.IN, "from bob"),
        (out.message_id, ann, Direction.OUT, "to ann"),
    ]
    assert all(m.network == "facebook" and m.sent_at.utcoffset() is not None for m in msgs)
    assert provider.fetch_messages(cursor, 10) == ([], cursor)


def test_first_call_starts_from_the_newest_messages(fb: FacebookSandbox, provider: FacebookProvider) -> None:
    people = [fb.add_person(f"P{i}", "X") for i in range(3)]
    ids = []
    for i in range(9):
        ids.append(fb.incoming(people[i % 3], f"m{i}"))
        fb.advance(seconds=1)
    msgs, cursor = provider.fetch_messages(None, 4)
    assert [m.message_id for m in msgs] == ids[-4:]
    newer = fb.incoming(people[0], "new")
    assert [m.message_id for m in provider.fetch_messages(cursor, 4)[0]] == [newer]


def test_empty_inbox(provider: FacebookProvider) -> None:
    assert provider.fetch_messages(None, 5) == ([], None)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_fetch_messages_never_skips_or_repeats(
    fb: FacebookSandbox, provider: FacebookProvider, seed: int
) -> None:
    """Random traffic (many messages per second, many threads, sends) between small-limit fetches."""
    rng = random.Random(seed)
    people = [fb.add_person(f"N{i}", "Q") for i in range(4)]
    first = fb.incoming(people[0], "start")
    msgs, cursor = provider.fetch_messages(None, 1)
    assert [m.message_id for m in msgs] == [first]
    expected: list[str] = []
    got: list[NetworkMessage] = []
    for step in range(150):
        action = rng.random()
        if action < 0.45:
            expected.append(fb.incoming(rng.choice(people), f"in {step}"))
        elif action < 0.6:
            try:
                sent = provider.send_message(AccountId(rng.choice(people)), f"out {step}", f"k{step}")
                expected.append(sent.message_id)
            except ProviderNotAllowed:  # a person who has not written yet: refused, nothing delivered
                pass
        elif action < 0.75:
            fb.advance(seconds=rng.choice([0, 1, 2]))
        else:
            batch, cursor = provider.fetch_messages(cursor, rng.randint(1, 4))
            got.extend(batch)
    for _ in range(200):  # bounded: a cursor that repeats must fail the test, not hang it
        batch, cursor = provider.fetch_messages(cursor, 3)
        if not batch:
            break
        got.extend(batch)
    ids = [m.message_id for m in got]
    assert len(ids) == len(set(ids))  # never repeats
    assert sorted(ids) == sorted(expected)  # never skips
    assert [m.sent_at for m in got] == sorted(m.sent_at for m in got)  # oldest first, across calls


def test_same_text_under_two_keys_is_two_messages_even_after_a_lost_answer(
    fb: FacebookSandbox, provider: FacebookProvider
) -> None:
    psid = AccountId(fb.add_person("Ann", "Lee"))
    fb.incoming(psid, "hello")
    first = provider.send_message(psid, "OK", "k1")
    fb.faults.drop(operation="send")  # the second send never reaches Facebook
    with pytest.raises(ProviderUnavailable):
        provider.send_message(psid, "OK", "k2")
    second = provider.send_message(psid, "OK", "k2")  # must not mistake k1's message for k2's
    assert second.message_id != first.message_id and not second.duplicate
    assert [d["text"] for d in fb.delivered_to(psid)] == ["OK", "OK"]
