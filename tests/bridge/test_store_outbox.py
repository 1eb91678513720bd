"""Outbox: idempotent enqueue, the persisted per-target state machine, the CRM phase and leases."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.services.retry import backoff_delay
from bridge.store import SendTarget, StateError, Store, TargetState

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
VK = SendTarget("vk", "vk_url", "https://vk.com/id1", "1")
TW = SendTarget("x", "tw_url", "https://x.com/jack", None)


class Clock:
    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[Store]:
    with Store(":memory:", clock=clock) as s:
        yield s


def _enqueue(store: Store, event_id: str | None = None, text: str = "Привет!", **kw: object) -> int:
    targets = kw.pop("targets", [VK, TW])
    return store.outbox.enqueue_send(
        record_id="12x7",
        module="Contacts",
        text=text,
        targets=targets,
        event_id=event_id,
        requested_by="19x1",
    )  # type: ignore[arg-type]


def test_enqueue_stores_send_and_targets(store: Store) -> None:
    long_text = "я" * 5000
    oid = _enqueue(store, "ev-1", text=long_text)
    send = store.outbox.get_send(oid)
    assert send is not None
    assert (send.record_id, send.module, send.text, send.event_id, send.requested_by) == (
        "12x7",
        "Contacts",
        long_text,
        "ev-1",
        "19x1",
    )
    assert send.created_at == T0
    assert [t.network for t in send.targets] == ["vk", "x"]
    assert all(t.state is TargetState.PENDING and t.attempts == 0 for t in send.targets)
    assert send.target("x").account_id is None and send.target("vk").url == "https://vk.com/id1"
    assert store.outbox.get_send(oid + 100) is None


def test_enqueue_same_event_twice_returns_first_id_and_changes_nothing(store: Store) -> None:
    first = _enqueue(store, "ev-1")
    again = store.outbox.enqueue_send(
        record_id="other", module="Leads", text="different", targets=[VK], event_id="ev-1", requested_by="x"
    )
    assert again == first
    assert store.outbox.depth() == 1
    send = store.outbox.get_send(first)
    assert send is not None and send.text == "Привет!" and len(send.targets) == 2
    assert _enqueue(store, None) != _enqueue(store, None)  # no event id: every call is a new send


def test_enqueue_validates_targets_atomically(store: Store) -> None:
    with pytest.raises(ValueError, match="at least one"):
        _enqueue(store, "a", targets=[])
    with pytest.raises(ValueError, match="one target per network"):
        _enqueue(store, "b", targets=[VK, VK])
    assert store.outbox.depth() == 0


def test_idempotency_keys_are_random_per_target_and_ids_are_never_reused(
    store: Store, tmp_path: Path
) -> None:
    oid = _enqueue(store)
    send = store.outbox.get_send(oid)
    assert send is not None
    keys = {t.idempotency_key for t in send.targets}
    assert len(keys) == 2 and f"vsb-{oid}-vk" not in keys and all(k.startswith("vsb-") for k in keys)
    # A new state file starts its outbox ids again: its keys must not repeat the first file's.
    with Store(tmp_path / "new.sqlite3") as other:
        again = other.outbox.get_send(
            other.outbox.enqueue_send(
                record_id="12x8", module="Contacts", text="x", targets=[VK], event_id=None, requested_by="cli"
            )
        )
    assert again is not None and again.id == oid and again.target("vk").idempotency_key not in keys
    store._db.execute("DELETE FROM outbox WHERE id = ?", (oid,))
    assert _enqueue(store) == oid + 1  # AUTOINCREMENT: a pruned id never comes back


def test_full_success_path_persists_every_step(store: Store, clock: Clock) -> None:
    oid = _enqueue(store, "ev")
    target = store.outbox.mark_target_sending(oid, "vk")
    assert (target.state, target.attempts, target.last_attempt_at) == (TargetState.SENDING, 1, T0)
    clock.advance(1)
    store.outbox.mark_target_sent(oid, "vk", "555")
    store.outbox.mark_target_sending(oid, "x")
    store.outbox.mark_target_failed(oid, "x", "403", "You cannot send messages to this user.")
    send = store.outbox.get_send(oid)
    assert send is not None and send.networks_finished
    vk, x = send.target("vk"), send.target("x")
    assert (vk.state, vk.message_id, vk.sent_at) == (TargetState.SENT, "555", T0 + dt.timedelta(seconds=1))
    assert (x.state, x.error_code, x.message_id) == (TargetState.FAILED, "403", None)

    with pytest.raises(StateError, match="no CRM record"):
        store.outbox.mark_send_linked(oid)
    store.outbox.set_send_crm_message_id(oid, "45x9")
    store.outbox.set_send_crm_message_id(oid, "45x9")  # repeating after a crash is harmless
    with pytest.raises(StateError, match="already has CRM record"):
        store.outbox.set_send_crm_message_id(oid, "45x10")
    store.outbox.mark_send_linked(oid)
    clock.advance(5)
    store.outbox.mark_send_linked(oid)  # keeps the first completion time
    store.outbox.mark_send_commented(oid)
    store.outbox.mark_send_done(oid)
    send = store.outbox.get_send(oid)
    assert send is not None
    assert send.crm_message_id == "45x9" and send.linked_at == T0 + dt.timedelta(seconds=1)
    assert send.commented_at is not None and send.done_at is not None and send.lease_until is None
    assert store.outbox.depth() == 0
    # The bridge's own message is in the ledger, with the CRM record, so the import never records it again.
    assert store.ledger.lookup("vk", ["555", "556"]) == {"555": "45x9"}
    assert not store.ledger.claim("vk", {"555": "1"}, token="t", lease_seconds=60)["555"].mine("t")
    with pytest.raises(StateError, match="already done"):
        store.outbox.mark_send_commented(oid)


def test_illegal_transitions_are_refused(store: Store) -> None:
    oid = _enqueue(store)
    with pytest.raises(StateError, match="cannot leave state 'pending'"):
        store.outbox.mark_target_sent(oid, "vk", "1")  # an attempt must be recorded before the network call
    with pytest.raises(StateError, match="no 'facebook' target"):
        store.outbox.mark_target_sending(oid, "facebook")
    store.outbox.mark_target_sending(oid, "vk")
    store.outbox.mark_target_sent(oid, "vk", "1")
    for call in (
        lambda: store.outbox.mark_target_sending(oid, "vk"),
        lambda: store.outbox.mark_target_failed(oid, "vk", "x", "y"),
        lambda: store.outbox.mark_target_retry(oid, "vk", T0, "x", "y"),
    ):
        with pytest.raises(StateError):
            call()
    with pytest.raises(StateError, match="unfinished"):
        store.outbox.mark_send_done(oid)
    with pytest.raises(StateError, match="no outbox row"):
        store.outbox.set_send_crm_message_id(999, "45x1")


def test_resolved_account_is_persisted_on_the_target(store: Store) -> None:
    oid = _enqueue(store)
    store.outbox.set_target_account(oid, "x", "2244994945")
    send = store.outbox.get_send(oid)
    assert send is not None and send.target("x").account_id == "2244994945"
    store.outbox.mark_target_sending(oid, "x")
    store.outbox.mark_target_failed(oid, "x", "349", "cannot DM")
    with pytest.raises(StateError):
        store.outbox.set_target_account(oid, "x", "1")


def test_crashed_sending_target_resumes_with_same_key_and_counts_attempts(store: Store) -> None:
    oid = _enqueue(store, targets=[VK])
    store.outbox.mark_target_sending(oid, "vk")  # ... the worker dies during the network call
    first = store.outbox.get_send(oid)
    resumed = store.outbox.mark_target_sending(oid, "vk")
    assert first is not None
    assert resumed.attempts == 2 and resumed.idempotency_key == first.target("vk").idempotency_key


def test_transient_failure_waits_for_backoff_then_is_due_again(store: Store) -> None:
    oid = _enqueue(store, targets=[VK])
    assert [s.id for s in store.outbox.claim_due_sends(T0, 10, 10)] == [oid]
    attempt = store.outbox.mark_target_sending(oid, "vk")
    retry_at = T0 + backoff_delay(attempt.attempts)
    store.outbox.mark_target_retry(oid, "vk", retry_at, "6", "Too many requests per second")
    send = store.outbox.get_send(oid)
    assert send is not None
    assert send.target("vk").state is TargetState.PENDING and send.target("vk").next_attempt_at == retry_at
    later = T0 + dt.timedelta(seconds=11)  # the lease has expired, but the target is not due yet
    assert retry_at > later
    assert store.outbox.claim_due_sends(later, 10, 30) == []
    assert [s.id for s in store.outbox.claim_due_sends(retry_at, 10, 30)] == [oid]


def test_backoff_is_exponential_and_capped() -> None:
    assert [backoff_delay(n).total_seconds() for n in range(0, 5)] == [0, 30, 60, 120, 240]
    assert backoff_delay(10_000) == dt.timedelta(hours=1)
    assert backoff_delay(3, base=dt.timedelta(seconds=1), cap=dt.timedelta(seconds=3)).total_seconds() == 3


def test_claim_leases_so_a_second_claim_gets_nothing_until_expiry(store: Store) -> None:
    ids = [_enqueue(store) for _ in range(5)]
    first = store.outbox.claim_due_sends(T0, 3, 60)
    assert [s.id for s in first] == ids[:3]
    assert all(s.lease_until == T0 + dt.timedelta(seconds=60) and s.lease_token for s in first)
    second = store.outbox.claim_due_sends(T0, 10, 60)
    assert [s.id for s in second] == ids[3:]
    assert store.outbox.claim_due_sends(T0 + dt.timedelta(seconds=59), 10, 60) == []
    # A crashed worker's lease expires and its sends are claimable again.
    again = store.outbox.claim_due_sends(T0 + dt.timedelta(seconds=60), 10, 60)
    assert [s.id for s in again] == ids
    assert {s.lease_token for s in again} != {first[0].lease_token}


def test_release_only_with_the_current_token(store: Store) -> None:
    oid = _enqueue(store)
    (old,) = store.outbox.claim_due_sends(T0, 1, 10)
    (new,) = store.outbox.claim_due_sends(T0 + dt.timedelta(seconds=10), 1, 10)
    assert old.lease_token is not None and new.lease_token is not None
    # The slow worker cannot free the new owner's lease.
    assert store.outbox.release(oid, old.lease_token) is False
    assert store.outbox.claim_due_sends(T0 + dt.timedelta(seconds=11), 1, 10) == []
    assert store.outbox.release(oid, new.lease_token) is True
    assert [s.id for s in store.outbox.claim_due_sends(T0 + dt.timedelta(seconds=11), 1, 10)] == [oid]


def test_send_with_finished_targets_stays_due_until_crm_phase_done(store: Store) -> None:
    oid = _enqueue(store, targets=[VK])
    store.outbox.mark_target_sending(oid, "vk")
    store.outbox.mark_target_sent(oid, "vk", "77")
    (send,) = store.outbox.claim_due_sends(T0, 1, 10)
    assert send.networks_finished and send.crm_message_id is None
    store.outbox.set_send_crm_message_id(oid, "45x1")
    assert store.ledger.lookup("vk", ["77"]) == {"77": "45x1"}  # the ledger learns the CRM id too
    store.outbox.mark_send_done(oid)
    assert store.outbox.claim_due_sends(T0 + dt.timedelta(hours=1), 10, 10) == []


def test_status_queries(store: Store, clock: Clock) -> None:
    assert store.outbox.oldest_pending_age(T0) is None
    a = _enqueue(store)
    clock.advance(60)
    b = _enqueue(store, targets=[VK])
    assert store.outbox.depth() == 2
    assert store.outbox.oldest_pending_age(T0 + dt.timedelta(seconds=100)) == dt.timedelta(seconds=100)
    store.outbox.mark_target_sending(b, "vk")
    store.outbox.mark_target_failed(b, "vk", "901", "privacy")
    store.outbox.set_send_crm_message_id(b, "45x2")
    store.outbox.mark_send_done(b)
    assert [s.id for s in store.outbox.failures()] == [b]
    assert [s.id for s in store.outbox.list_sends("open")] == [a]
    assert [s.id for s in store.outbox.list_sends("done")] == [b]
    assert [s.id for s in store.outbox.list_sends("all")] == [b, a]
    assert store.outbox.oldest_pending_age(T0 + dt.timedelta(seconds=100)) == dt.timedelta(seconds=100)


def test_threads_hammering_claim_never_share_a_send(tmp_path: Path) -> None:
    path = tmp_path / "claims.db"
    stores = [Store(path), Store(path)]  # two connections, as two processes would have
    try:
        total = 300
        for _ in range(total):
            _enqueue(stores[0])
        claimed: list[list[int]] = [[] for _ in range(6)]
        start = threading.Barrier(6)

        def worker(n: int) -> None:
            store = stores[n % 2]
            start.wait()
            while batch := store.outbox.claim_due_sends(T0, 4, 600):
                claimed[n].extend(s.id for s in batch)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        everything = [i for part in claimed for i in part]
        assert len(everything) == total and len(set(everything)) == total
        assert sum(1 for part in claimed if part) >= 2  # really concurrent, not one thread doing it all
    finally:
        for s in stores:
            s.close()
