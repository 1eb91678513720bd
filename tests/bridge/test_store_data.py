"""Import cursors, the CRM URL index (at 100,000 rows), profile audit, events, kv."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from bridge.store import IndexKey, IndexRow, Store, UnresolvedRef

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[Store]:
    with Store(":memory:", clock=clock) as s:
        yield s


# --- import cursors ---------------------------------------------------------------------------


def test_cursor_per_network_and_last_import_time(store: Store, clock: Clock) -> None:
    assert store.cursors.get("vk") is None and store.cursors.last_import_at("vk") is None
    store.cursors.set("vk", "100")
    clock.now = T0 + dt.timedelta(minutes=5)
    store.cursors.set("vk", "250")
    store.cursors.set("x", "abc")
    assert (store.cursors.get("vk"), store.cursors.get("x"), store.cursors.get("facebook")) == (
        "250",
        "abc",
        None,
    )
    assert store.cursors.last_import_at("vk") == T0 + dt.timedelta(minutes=5)


# --- URL index ----------------------------------------------------------------------------------------------


def _row(
    record: str, field: str = "vk_url", ref: str = "durov", account: str | None = None, **kw: str
) -> IndexRow:
    return IndexRow(
        module=kw.get("module", "Contacts"),
        record_id=record,
        field=field,
        url=kw.get("url", f"https://vk.com/{ref}"),
        network=kw.get("network", "vk"),
        ref_kind=kw.get("ref_kind", "screen_name"),
        ref_value=ref,
        account_id=account,
        modifiedtime=kw.get("modifiedtime", "2024-01-01 10:00:00"),
    )


def test_index_resolution_flow(store: Store) -> None:
    store.url_index.upsert(
        [_row("12x1"), _row("12x2"), _row("12x3", ref="other"), _row("12x4", ref="1", account="1")]
    )
    assert store.url_index.unresolved("vk") == [
        UnresolvedRef("screen_name", "durov"),
        UnresolvedRef("screen_name", "other"),
    ]
    assert store.url_index.set_account("vk", "screen_name", "durov", "1") == 2
    assert store.url_index.records_for_account("vk", "1") == [
        IndexKey("Contacts", "12x1", "vk_url"),
        IndexKey("Contacts", "12x2", "vk_url"),
        IndexKey("Contacts", "12x4", "vk_url"),
    ]
    assert store.url_index.records_for_account("x", "1") == []
    assert store.url_index.unresolved("vk") == [UnresolvedRef("screen_name", "other")]


def test_upsert_keeps_resolved_account_only_while_the_profile_is_the_same(store: Store) -> None:
    store.url_index.upsert([_row("12x1", account="1")])
    store.url_index.upsert([_row("12x1", modifiedtime="2024-02-01 00:00:00")])  # re-read, same URL
    assert store.url_index.records_for_account("vk", "1") == [IndexKey("Contacts", "12x1", "vk_url")]
    store.url_index.upsert([_row("12x1", ref="someone_else")])  # the URL now names another profile
    assert store.url_index.records_for_account("vk", "1") == []
    assert store.url_index.count() == 1


def test_replace_and_remove_record(store: Store) -> None:
    store.url_index.upsert([_row("12x1"), _row("12x1", field="website"), _row("12x2")])
    store.url_index.replace_record("12x1", [_row("12x1", ref="new")])
    assert store.url_index.count() == 2
    assert store.url_index.unresolved("vk") == [
        UnresolvedRef("screen_name", "durov"),
        UnresolvedRef("screen_name", "new"),
    ]
    with pytest.raises(ValueError, match="another record"):
        store.url_index.replace_record("12x1", [_row("12x9")])
    assert store.url_index.remove_record("12x1") == 1
    assert store.url_index.remove_record("12x1") == 0
    assert store.url_index.count() == 1


def test_prune_after_full_refresh_drops_unseen_records_of_that_module_only(store: Store) -> None:
    store.url_index.upsert(
        [_row("12x1"), _row("12x1", field="website"), _row("12x2"), _row("3x1", module="Leads")]
    )
    assert store.url_index.prune("Contacts", ["12x2"]) == 2
    assert store.url_index.count() == 2
    assert store.url_index.prune("Contacts", ["12x2"]) == 0
    assert store.url_index.unresolved("vk") == [UnresolvedRef("screen_name", "durov")]


def test_watermark_per_module_never_moves_back_and_only_a_refresh_moves_it(store: Store) -> None:
    assert store.url_index.watermark("Contacts") is None
    store.url_index.upsert([_row("12x1", modifiedtime="2024-01-05 00:00:00"), _row("3x1", module="Leads")])
    assert store.url_index.watermark("Contacts") is None  # rows indexed on their own prove nothing read
    store.url_index.set_watermark("Contacts", "2024-02-01 00:00:00")
    store.url_index.set_watermark("Contacts", "2023-01-01 00:00:00")
    assert store.url_index.watermark("Contacts") == "2024-02-01 00:00:00"
    assert store.url_index.watermark("Leads") is None


N = 100_000


def _big_rows() -> Iterator[IndexRow]:
    for i in range(N):
        network = ("vk", "x")[i % 2]
        yield IndexRow(
            module=("Contacts", "Leads", "Accounts")[i % 3],
            record_id=f"12x{i}",
            field="vk_url" if network == "vk" else "tw_url",
            url=f"https://{network}.example/u{i // 4}",
            network=network,
            ref_kind="screen_name",
            ref_value=f"u{i // 4}",
            account_id=None if i % 10 == 0 else f"acc{i // 4}",
            modifiedtime=f"2024-01-01 00:{(i // 60) % 60:02d}:{i % 60:02d}",
        )


def _vm_steps(store: Store, call: object) -> int:
    """SQLite virtual-machine steps a call costs (counted in units of 100): a measure that is not time."""
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        return 0

    conn = store._db._conn
    conn.set_progress_handler(tick, 100)
    try:
        call()  # type: ignore[operator]
    finally:
        conn.set_progress_handler(None, 0)
    return ticks


def test_index_at_100k_rows_answers_by_index_search(store: Store) -> None:
    rows = list(_big_rows())
    assert store.url_index.upsert(rows) == N
    assert store.url_index.count() == N
    expected = sorted(r.record_id for r in rows if r.network == "vk" and r.account_id == "acc777")
    got = store.url_index.records_for_account("vk", "acc777")
    assert [k.record_id for k in got] == expected and expected  # 3108 and 3110
    assert store.url_index.set_account("x", "screen_name", "u5000", "acc-new") == 2
    found = store.url_index.records_for_account("x", "acc-new")
    assert [k.record_id for k in found] == ["12x20001", "12x20003"]
    unresolved = store.url_index.unresolved("vk", limit=5)
    assert len(unresolved) == 5 and all(u.ref_kind == "screen_name" for u in unresolved)

    # Cost in VM steps: an index search touches a handful of rows; a scan would touch all 100,000.
    scan = _vm_steps(store, lambda: store._db.execute("SELECT COUNT(*) FROM url_index WHERE url = 'none'"))
    for call in (
        lambda: store.url_index.records_for_account("vk", "acc777"),
        lambda: store.url_index.set_account("vk", "screen_name", "u9", "acc9"),
        lambda: store.url_index.remove_record("12x99999"),
        lambda: store.url_index.unresolved("x", limit=10),
    ):
        assert _vm_steps(store, call) * 100 < scan
    assert scan > 1000  # sanity: a scan really costs > 100,000 steps
    plan = " ".join(
        str(r[3])
        for r in store._db.execute(
            "EXPLAIN QUERY PLAN SELECT module FROM url_index WHERE network = 'vk' AND account_id = 'a'"
        )
    )
    assert "USING INDEX url_index_account" in plan


# --- audit, events, kv ------------------------------------------------------------------------------------


def test_profile_audit_roundtrip_newest_first(store: Store, clock: Clock) -> None:
    first = store.audit.profile_write(
        "12x1",
        "vk",
        written={"firstname": "Павел"},
        skipped_filled=["lastname"],
        not_provided=["email"],
        errors=[],
        dry_run=True,
    )
    clock.now = T0 + dt.timedelta(hours=1)
    second = store.audit.profile_write(
        "12x1", "x", written={}, skipped_filled=[], not_provided=[], errors=[{"code": "404"}], dry_run=False
    )
    store.audit.profile_write(
        "12x2", "vk", written={}, skipped_filled=[], not_provided=[], errors=[], dry_run=False
    )
    entries = store.audit.for_record("12x1")
    assert [e.id for e in entries] == [second, first]
    old = entries[1]
    assert (old.written, old.skipped_filled, old.not_provided, old.dry_run) == (
        {"firstname": "Павел"},
        ["lastname"],
        ["email"],
        True,
    )
    assert old.created_at == T0 and entries[0].errors == [{"code": "404"}] and entries[0].dry_run is False


def test_events_are_remembered_once_and_closed(store: Store, clock: Clock) -> None:
    assert store.events.remember("e1", "send", {"record": "12x1", "text": "hi"}) is True
    clock.now = T0 + dt.timedelta(seconds=1)
    assert store.events.remember("e2", "profile", {"record": "12x2"}) is True
    assert store.events.remember("e1", "send", {"changed": True}) is False  # retried delivery
    pending = store.events.pending()
    assert [(e.event_id, e.kind) for e in pending] == [("e1", "send"), ("e2", "profile")]
    assert pending[0].payload == {"record": "12x1", "text": "hi"} and pending[0].received_at == T0
    assert store.events.mark_done("e1") is True
    assert store.events.mark_done("e1") is False
    assert store.events.mark_done("e2", error="record deleted") is True
    assert store.events.pending() == [] and store.events.error("e2") == "record deleted"
    assert store.events.remember("e1", "send", {}) is False  # done events still block replays


def test_kv(store: Store) -> None:
    assert store.kv.get("crm.utf8") is None and store.kv.get("crm.utf8", False) is False
    store.kv.set("crm.utf8", True)
    store.kv.set("crm.utf8", False)
    assert store.kv.get("crm.utf8") is False
    assert store.kv.delete("crm.utf8") is True and store.kv.delete("crm.utf8") is False
