"""The outbox workers' claims: a network lane takes only sends with a due target on its network, a
recorder only sends whose lane targets are finished; a lease or a hold keeps everyone else out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bridge.store import SendTarget, Store
from tests.bridge.test_store_outbox import T0, TW, VK, Clock

LANES = ("vk", "x")
LEASE = 300.0
Box = tuple[Store, Clock]


@pytest.fixture
def box() -> Iterator[Box]:
    clock = Clock()
    with Store(":memory:", clock=clock) as store:
        yield store, clock


def enqueue(store: Store, *targets: SendTarget) -> int:
    return store.outbox.enqueue_send(
        record_id="12x7",
        module="Contacts",
        text="hi",
        targets=list(targets or (VK, TW)),
        event_id=None,
        requested_by="cli",
    )


def test_a_lane_claims_the_oldest_send_with_a_due_target_on_its_network(box: Box) -> None:
    store, clock = box
    x_only = enqueue(store, TW)
    both = enqueue(store)
    vk_send = store.outbox.claim_send_for("vk", clock.now, LEASE)
    assert vk_send is not None and vk_send.id == both
    # `both` is leased, nothing else has VK
    assert store.outbox.claim_send_for("vk", clock.now, LEASE) is None
    x_send = store.outbox.claim_send_for("x", clock.now, LEASE)
    assert x_send is not None and x_send.id == x_only  # the leased `both` is skipped, not waited for
    assert vk_send.lease_token is not None and store.outbox.release(both, vk_send.lease_token)
    again = store.outbox.claim_send_for("x", clock.now, LEASE)
    assert again is not None and again.id == both


def test_a_target_waiting_for_its_retry_is_not_due_and_says_when(box: Box) -> None:
    store, clock = box
    oid = enqueue(store, VK)
    store.outbox.mark_target_sending(oid, "vk")
    retry_at = T0 + dt.timedelta(seconds=30)
    store.outbox.mark_target_retry(oid, "vk", retry_at, "ProviderUnavailable", "later")
    assert store.outbox.claim_send_for("vk", clock.now, LEASE) is None
    assert store.outbox.next_due_for("vk") == retry_at
    assert store.outbox.next_due_for("x") is None
    clock.advance(30)
    assert store.outbox.claim_send_for("vk", clock.now, LEASE) is not None


def test_a_target_left_sending_by_a_dead_worker_is_due(box: Box) -> None:
    store, clock = box
    oid = enqueue(store, VK)
    store.outbox.mark_target_sending(oid, "vk")  # ... and the process dies: its lease is freed at start
    claimed = store.outbox.claim_send_for("vk", clock.now, LEASE)
    assert claimed is not None and claimed.id == oid


def test_a_recorder_claims_only_sends_whose_lane_targets_are_finished(box: Box) -> None:
    store, clock = box
    oid = enqueue(store)
    assert store.outbox.claim_send_to_record(LANES, clock.now, LEASE) is None
    store.outbox.mark_target_sending(oid, "vk")
    store.outbox.mark_target_sent(oid, "vk", "101")
    assert store.outbox.claim_send_to_record(LANES, clock.now, LEASE) is None  # X is still to go
    store.outbox.mark_target_sending(oid, "x")
    store.outbox.mark_target_failed(oid, "x", "NOT_FOUND", "no such account")
    claimed = store.outbox.claim_send_to_record(LANES, clock.now, LEASE)
    assert claimed is not None and claimed.id == oid
    assert store.outbox.claim_send_for("vk", clock.now, LEASE) is None


def test_a_target_on_a_network_without_a_lane_goes_to_the_recorders(box: Box) -> None:
    store, clock = box
    oid = enqueue(store)  # VK and X, but only VK has a lane (X was disabled)
    store.outbox.mark_target_sending(oid, "vk")
    store.outbox.mark_target_sent(oid, "vk", "101")
    claimed = store.outbox.claim_send_to_record(("vk",), clock.now, LEASE)
    assert claimed is not None and claimed.id == oid  # the recorder marks X `DISABLED`, then records


def test_a_held_send_waits_until_the_hold_ends(box: Box) -> None:
    store, clock = box
    oid = enqueue(store, VK)
    store.outbox.mark_target_sending(oid, "vk")
    store.outbox.mark_target_sent(oid, "vk", "101")
    claimed = store.outbox.claim_send_to_record(LANES, clock.now, LEASE)
    assert claimed is not None and claimed.lease_token is not None
    until = clock.now + dt.timedelta(seconds=60)
    assert store.outbox.hold(oid, claimed.lease_token, until)  # e.g. the CRM did not answer
    assert store.outbox.hold(oid, "someone else's", until) is False
    assert store.outbox.next_due_to_record(LANES, clock.now) == until
    clock.advance(59)
    assert store.outbox.claim_send_to_record(LANES, clock.now, LEASE) is None
    clock.advance(1)
    assert store.outbox.claim_send_to_record(LANES, clock.now, LEASE) is not None
