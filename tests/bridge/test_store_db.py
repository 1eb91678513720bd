"""The store's file: migrations, version refusal, pragmas, private mode, transactions."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
from pathlib import Path

import pytest

import bridge.store as store_pkg
from bridge.store import LATEST_VERSION, SchemaTooNewError, Store, StoreError
from bridge.store.db import Database, from_db_time, to_db_time
from bridge.store.upgrade import MIGRATIONS, Migration, current_version, upgrade

EXPECTED_TABLES = {
    "schema_version",
    "outbox",
    "outbox_target",
    "import_cursor",
    "message_ledger",
    "url_index",
    "profile_audit",
    "webhook_event",
    "kv",
    "invitation",
    "bot_event",
}


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return {r[0] for r in rows}


def test_fresh_file_is_migrated_to_latest_with_descriptions(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store(path):
        pass
    conn = _raw(path)
    try:
        assert _tables(conn) == EXPECTED_TABLES
        rows = conn.execute("SELECT version, description FROM schema_version ORDER BY version").fetchall()
        assert [r[0] for r in rows] == [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
        assert all(r[1] for r in rows)
    finally:
        conn.close()


def test_reopen_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Store(path) as store:
        store.kv.set("crm.utf8", True)
    with Store(path) as store:
        assert store.kv.get("crm.utf8") is True
        assert upgrade(store._db) == []
    conn = _raw(path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == LATEST_VERSION
    finally:
        conn.close()


def test_memory_store_works_and_context_manager_closes() -> None:
    with Store(":memory:") as store:
        store.kv.set("a", {"b": [1, "я"]})
        assert store.kv.get("a") == {"b": [1, "я"]}
    with pytest.raises(sqlite3.ProgrammingError):
        store.kv.get("a")


def test_newer_schema_is_refused_with_a_clear_error_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store(path).close()
    conn = _raw(path)
    conn.execute(
        "INSERT INTO schema_version VALUES (?, 'from the future', '2030-01-01T00:00:00.000000Z')",
        (LATEST_VERSION + 5,),
    )
    conn.close()
    with pytest.raises(SchemaTooNewError) as info:
        Store(path)
    message = str(info.value)
    assert str(LATEST_VERSION + 5) in message and str(LATEST_VERSION) in message and "state.db" in message
    conn = _raw(path)
    try:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == LATEST_VERSION + 5
    finally:
        conn.close()


def test_each_migration_runs_in_its_own_transaction(tmp_path: Path) -> None:
    def good(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE extra_good (x INTEGER)")

    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE extra_bad (x INTEGER)")
        raise RuntimeError("migration bug")

    db = Database(tmp_path / "m.db")
    try:
        chain = [
            *MIGRATIONS,
            Migration(LATEST_VERSION + 1, "good", good),
            Migration(LATEST_VERSION + 2, "bad", bad),
        ]
        with pytest.raises(RuntimeError, match="migration bug"):
            upgrade(db, chain)
        with db.transaction(write=False) as conn:
            assert current_version(conn) == LATEST_VERSION + 1
            names = _tables(conn)
        assert "extra_good" in names and "extra_bad" not in names
    finally:
        db.close()


def test_file_and_wal_are_private_whatever_the_umask(tmp_path: Path) -> None:
    import os

    path = tmp_path / "sub" / "state.db"
    old = os.umask(0o000)
    try:
        with Store(path) as store:
            store.kv.set("x", 1)  # forces the -wal file into existence
            for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        os.umask(old)


def test_pragmas_wal_fk_full_sync_busy_timeout(tmp_path: Path) -> None:
    with Store(tmp_path / "p.db", busy_timeout_ms=1234) as store:
        rows = {
            name: store._db.execute(f"PRAGMA {name}")[0][0]
            for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    assert rows == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 2, "busy_timeout": 1234}


def test_a_file_that_is_not_sqlite_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match=r"junk\.db"):
        Store(path)


def test_transaction_rolls_back_everything_on_error_including_savepoints() -> None:
    with Store(":memory:") as store:
        with pytest.raises(ValueError), store._db.transaction() as conn:
            conn.execute("INSERT INTO kv VALUES ('a', '1', 'x')")
            with store._db.transaction() as inner:
                inner.execute("INSERT INTO kv VALUES ('b', '2', 'x')")
            raise ValueError("boom")
        assert store.kv.get("a") is None and store.kv.get("b") is None
        with store._db.transaction() as conn:
            conn.execute("INSERT INTO kv VALUES ('a', '1', 'x')")
            with pytest.raises(ValueError), store._db.transaction() as inner:
                inner.execute("INSERT INTO kv VALUES ('b', '2', 'x')")
                raise ValueError("inner only")
        assert store.kv.get("a") == 1 and store.kv.get("b") is None


def test_times_are_aware_utc_and_naive_ones_are_refused() -> None:
    moscow = dt.timezone(dt.timedelta(hours=3))
    value = dt.datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=moscow)
    text = to_db_time(value)
    assert text == "2024-05-01T09:00:00.000005Z"
    assert from_db_time(text) == value and from_db_time(text).tzinfo is dt.UTC  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="naive"):
        to_db_time(dt.datetime(2024, 5, 1))


def test_package_exports_what_it_declares() -> None:
    assert sorted(store_pkg.__all__) == sorted(set(store_pkg.__all__))
    for name in store_pkg.__all__:
        assert hasattr(store_pkg, name), name
    assert {"Store", "OutboxSend", "OutboxTarget", "SendTarget", "IndexRow", "AuditEntry"} <= set(
        store_pkg.__all__
    )


def test_v04_moves_the_crm_create_flag_from_kv_into_the_outbox_row(tmp_path: Path) -> None:
    """A v03 file of a bridge that crashed around a send's CRM create: the send still looks in the CRM."""
    path = tmp_path / "v3.sqlite3"
    db = Database(path)
    upgrade(db, MIGRATIONS[:3])
    started = "2024-03-01T12:00:05.000000Z"
    with db.transaction() as conn:
        for oid, crm_id in ((7, None), (8, "45x8")):  # 8: its record was made and noted after the flag
            conn.execute(
                "INSERT INTO outbox (id, record_id, module, text, requested_by, created_at, crm_message_id)"
                " VALUES (?, '12x7', 'Contacts', 'hi', 'cli', '2024-03-01T12:00:00.000000Z', ?)",
                (oid, crm_id),
            )
            conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?, 'true', ?)",
                (f"outbox.crm_create_started.{oid}", started),
            )
        conn.execute(
            "INSERT INTO kv (key, value, updated_at) VALUES ('backfill.Contacts.', '\"12x9\"', ?)", (started,)
        )
    db.close()
    with Store(path) as migrated:
        send, done = migrated.outbox.get_send(7), migrated.outbox.get_send(8)
        assert send is not None and send.crm_create_started_at == from_db_time(started)
        assert done is not None and done.crm_create_started_at is None
        assert migrated.kv.items("outbox.") == {}
        assert migrated.kv.get("backfill.Contacts.") == "12x9"  # other keys stay
