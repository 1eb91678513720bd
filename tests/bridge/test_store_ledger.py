"""The message ledger's claims (one writer per network message), foreign answers, and the v02 migration."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from bridge.store import ForeignMessageError, StateError, Store, TargetState
from bridge.store.db import Database
from bridge.store.upgrade import MIGRATIONS, upgrade
from tests.bridge.test_store_outbox import T0, VK, Clock, clock, store  # noqa: F401  (fixtures)


def _sent(into: Store, message_id: str, peer: str = "1", record: str = "12x7") -> int:
    oid = into.outbox.enqueue_send(
        record_id=record, module="Contacts", text="hi", targets=[VK], event_id=None, requested_by="cli"
    )
    into.outbox.mark_target_sending(oid, "vk")
    into.outbox.mark_target_sent(oid, "vk", message_id, peer=peer)
    return oid


def test_the_first_claim_wins_and_the_others_see_it_busy_recorded_or_free(
    store: Store,  # noqa: F811
    clock: Clock,  # noqa: F811
) -> None:
    first = store.ledger.claim("vk", {"10": "1", "11": "2"}, token="a", lease_seconds=60)
    assert first["10"].mine("a") and first["11"].mine("a")
    again = store.ledger.claim("vk", {"10": "1", "11": "2", "12": "3"}, token="b", lease_seconds=60)
    assert not again["10"].mine("b") and again["10"].claimed  # a live writer holds it: leave it
    assert again["12"].mine("b")
    store.ledger.record("vk", "10", "a", "45x1")
    store.ledger.record("vk", "10", "a", "45x1")  # repeating after a crash is harmless
    with pytest.raises(StateError, match="already CRM record"):
        store.ledger.record("vk", "10", "a", "45x2")
    with pytest.raises(StateError, match="another writer"):
        store.ledger.record("vk", "11", "b", "45x3")
    with pytest.raises(StateError, match="never claimed"):
        store.ledger.record("vk", "99", "a", "45x4")
    clock.now += dt.timedelta(seconds=50)
    store.ledger.claim("vk", {"11": "2"}, token="a", lease_seconds=60)  # its holder renews it while working
    clock.now += dt.timedelta(seconds=50)
    assert not store.ledger.claim("vk", {"11": "2"}, token="b", lease_seconds=60)["11"].mine("b")
    clock.now += dt.timedelta(seconds=11)  # writer "a" died holding 11: its lease passes
    taken = store.ledger.claim("vk", {"10": "1", "11": "2"}, token="c", lease_seconds=60)
    assert taken["10"].recorded and not taken["10"].mine("c")  # recorded: adopt, never create again
    assert taken["11"].mine("c")
    assert store.ledger.claim("x", {"10": "1"}, token="a", lease_seconds=60)["10"].mine("a")  # other network
    assert store.ledger.lookup("vk", ["10", "11", "12", "13"]) == {"10": "45x1", "11": None, "12": None}


def test_release_forgets_unrecorded_claims_and_daemon_start_frees_every_claim(store: Store) -> None:  # noqa: F811
    store.ledger.claim("vk", {"1": "7", "2": "7", "3": "7"}, token="a", lease_seconds=60)
    store.ledger.record("vk", "2", "a", "45x2")
    assert store.ledger.unfinished("vk") == ["1", "3"]
    assert store.ledger.release("a") == 2
    assert store.ledger.unfinished("vk") == []
    assert store.ledger.lookup("vk", ["1", "2", "3"]) == {"2": "45x2"}

    store.ledger.claim("vk", {"5": "7"}, token="dead", lease_seconds=3600)
    assert not store.ledger.claim("vk", {"5": "7"}, token="b", lease_seconds=60)["5"].mine("b")
    store.release_all_leases()  # what the daemon does at start: the holder died with its process
    assert store.ledger.claim("vk", {"5": "7"}, token="b", lease_seconds=60)["5"].mine("b")


def test_a_message_a_send_delivered_is_the_sends_and_never_claimed_by_an_intake(store: Store) -> None:  # noqa: F811
    oid = _sent(store, "20")
    entry = store.ledger.entries("vk", ["20"])["20"]
    assert (entry.origin, entry.outbox_id, entry.peer_id, entry.recorded) == ("outbox", oid, "1", False)
    assert not store.ledger.claim("vk", {"20": "1"}, token="i", lease_seconds=60)["20"].mine("i")
    store.ledger.release("i")
    assert store.ledger.entries("vk", ["20"])["20"].outbox_id == oid  # release never drops a send's row


def test_an_intake_that_saw_the_message_first_keeps_recording_it_and_the_send_owns_it(store: Store) -> None:  # noqa: F811
    store.ledger.claim("vk", {"30": "1"}, token="i", lease_seconds=60)
    oid = _sent(store, "30", peer="1")
    entry = store.ledger.entries("vk", ["30"])["30"]
    assert entry.outbox_id == oid and entry.claimed and entry.mine("i")
    store.ledger.record("vk", "30", "i", "45x30")
    store.ledger.release("i")
    assert store.ledger.lookup("vk", ["30"]) == {"30": "45x30"}


def test_an_answer_naming_another_sends_or_another_persons_message_is_refused(store: Store) -> None:  # noqa: F811
    anna = _sent(store, "40", peer="1")
    boris = store.outbox.enqueue_send(
        record_id="12x8", module="Contacts", text="hi", targets=[VK], event_id=None, requested_by="cli"
    )
    store.outbox.mark_target_sending(boris, "vk")
    with pytest.raises(ForeignMessageError, match="recorded for send"):
        store.outbox.mark_target_sent(boris, "vk", "40", peer="2")
    store.ledger.claim("vk", {"41": "3"}, token="i", lease_seconds=60)  # an import: a message with 3
    with pytest.raises(ForeignMessageError, match="another person"):
        store.outbox.mark_target_sent(boris, "vk", "41", peer="2")
    send = store.outbox.get_send(boris)
    assert send is not None and send.target("vk").state is TargetState.SENDING  # nothing changed
    assert store.ledger.entries("vk", ["40"])["40"].outbox_id == anna


def test_a_renewed_key_is_new_and_the_target_due_at_once(store: Store) -> None:  # noqa: F811
    oid = store.outbox.enqueue_send(
        record_id="12x7", module="Contacts", text="hi", targets=[VK], event_id=None, requested_by="cli"
    )
    old = store.outbox.mark_target_sending(oid, "vk").idempotency_key
    store.outbox.renew_target_key(oid, "vk", "KEY_REUSED", "VK answered with message 5 of someone else")
    send = store.outbox.get_send(oid)
    assert send is not None
    target = send.target("vk")
    assert target.idempotency_key != old and target.state is TargetState.PENDING
    assert target.error_code == "KEY_REUSED" and target.next_attempt_at is None
    assert [s.id for s in store.outbox.claim_due_sends(T0, 10, 60)] == [oid]


def test_ledger_lookup_handles_more_ids_than_sqlite_variables(store: Store) -> None:  # noqa: F811
    store.ledger.claim("vk", {str(i): None for i in range(0, 3000, 3)}, token="a", lease_seconds=60)
    found = store.ledger.lookup("vk", [str(i) for i in range(3000)])
    assert set(found) == {str(i) for i in range(0, 3000, 3)}


def test_v02_keeps_the_key_a_queued_send_may_have_used_and_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    db = Database(path)
    upgrade(db, MIGRATIONS[:1])
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO outbox (id, record_id, module, text, requested_by, created_at)"
            " VALUES (7, '12x7', 'Contacts', 'hi', 'cli', '2024-03-01T12:00:00.000000Z')"
        )
        conn.execute(
            "INSERT INTO outbox_target (outbox_id, network, field, url, state, attempts)"
            " VALUES (7, 'vk', 'vk_url', 'https://vk.com/id1', 'sending', 1)"
        )
        conn.execute(
            "INSERT INTO message_ledger (network, message_id, crm_message_id, origin, created_at)"
            " VALUES ('vk', '5', '45x5', 'import', '2024-03-01T12:00:00.000000Z')"
        )
    db.close()
    with Store(path) as migrated:
        send = migrated.outbox.get_send(7)
        assert send is not None and send.target("vk").idempotency_key == "vsb-7-vk"
        assert migrated.ledger.lookup("vk", ["5"]) == {"5": "45x5"}
        fresh = migrated.outbox.enqueue_send(
            record_id="12x7", module="Contacts", text="hi", targets=[VK], event_id=None, requested_by="cli"
        )
        new = migrated.outbox.get_send(fresh)
        assert new is not None and new.target("vk").idempotency_key not in ("vsb-8-vk", "vsb-7-vk")
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError):  # keys are unique within a file, whatever wrote them
            conn.execute("UPDATE outbox_target SET idempotency_key = 'vsb-7-vk' WHERE outbox_id = ?", [fresh])
    finally:
        conn.close()
