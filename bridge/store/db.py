"""The one SQLite connection of the bridge: pragmas, private file mode, transactions, time and JSON codecs.

One connection per `Database`, shared by the daemon's threads (scheduler jobs, webhook server, CLI) behind a
re-entrant lock. A connection per thread would allow parallel reads, but `:memory:` databases cannot be
shared between connections and the bridge's load is a handful of rows per second, so serialising is the
simpler correct choice. Write transactions start with `BEGIN IMMEDIATE`, so two *processes* on one file also
serialise their read-modify-write sequences (e.g. lease claims) instead of failing at COMMIT.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
MEMORY = ":memory:"
DEFAULT_BUSY_TIMEOUT_MS = 10_000
# Fixed-width UTC text: lexicographic order equals time order, so SQL can compare timestamps as strings.
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class StoreError(Exception):
    """Root of the store's errors."""


class SchemaTooNewError(StoreError):
    """The file was written by a newer bridge; opening it with this code could corrupt it."""


class StateError(StoreError):
    """A state transition that the current row does not allow (e.g. marking a sent target as failed)."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_db_time(value: dt.datetime) -> str:
    """Encode an aware datetime as fixed-width UTC text; naive datetimes are refused (ambiguous zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime given to the store; use an aware UTC datetime")
    return value.astimezone(dt.UTC).strftime(_TIME_FORMAT)


def from_db_time(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    return dt.datetime.strptime(value, _TIME_FORMAT).replace(tzinfo=dt.UTC)


def require_time(value: str) -> dt.datetime:
    parsed = from_db_time(value)
    assert parsed is not None
    return parsed


def to_json(value: Any) -> str:
    # ensure_ascii=False keeps Cyrillic readable for whoever opens the file with the sqlite3 shell.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def from_json(value: str) -> Any:
    return json.loads(value)


def _create_private_file(path: Path) -> None:
    """Create the database file with mode 0600 before SQLite opens it.

    SQLite creates `-wal`/`-shm` with the permissions of the main file, so restricting this one file keeps
    message texts and CRM ids private to the bridge's user whatever the umask is.
    """
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _hint(path: str) -> str:
    """Say what SQLite's "unable to open database file" (or a refused create) means for an operator."""
    folder = Path(path).parent
    if not folder.exists():
        return (
            f" (the folder {str(folder)!r} does not exist and this user may not create it; create it "
            f"for the user the bridge runs as: sudo install -d -o {current_user()} -m 0700 {folder})"
        )
    try:
        writable = os.access(folder, os.W_OK) and not os.statvfs(folder).f_flag & os.ST_RDONLY
    except OSError:
        return ""
    return (
        ""
        if writable
        else (
            f" (the folder {str(folder)!r} is on a read-only filesystem or not writable "
            f"by user {current_user()})"
        )
    )


def current_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container running as a bare uid)
        return str(os.getuid())


class Database:
    """A connection with the bridge's pragmas and a transaction helper; see the module docstring."""

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._depth = 0
        if self.path != MEMORY:
            file = Path(self.path)
            if not file.exists():
                try:
                    file.parent.mkdir(parents=True, exist_ok=True)
                    _create_private_file(file)
                except OSError as exc:  # the usual first run: a non-root user and a folder under /var/lib
                    raise StoreError(
                        f"cannot create the state store {self.path!r}: {exc.strerror or exc}"
                        f"{_hint(self.path)}"
                    ) from None
        # isolation_level=None: the sqlite3 module must not open transactions behind our back; we issue
        # BEGIN/COMMIT ourselves so each method's writes are exactly one transaction.
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        try:
            self._configure(busy_timeout_ms)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise StoreError(f"cannot open the state store {self.path!r}: {exc}{_hint(self.path)}") from exc

    def _configure(self, busy_timeout_ms: int) -> None:
        conn = self._conn
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if self.path != MEMORY:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"the state store {self.path!r} cannot use WAL (journal_mode={mode})")
        # FULL: a COMMIT is on disk before the call returns, so an outbox row acknowledged to a webhook or a
        # "sending" mark recorded before a network call survives a power cut, not only a process crash.
        conn.execute("PRAGMA synchronous = FULL")

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic unit: commit on success, roll back on any exception. Nested calls become savepoints."""
        with self._lock:
            conn = self._conn
            if self._depth:
                name = f"sp{self._depth}"
                conn.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield conn
                    conn.execute(f"RELEASE {name}")
                except BaseException:
                    conn.execute(f"ROLLBACK TO {name}")
                    conn.execute(f"RELEASE {name}")
                    raise
                finally:
                    self._depth -= 1
                return
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
            self._depth = 1
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    def execute(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """Run one statement (atomic on its own) and return all its rows."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Table:
    """Base of the table classes (one per table, see `bridge.store`): the shared connection and the injected
    clock, which stamps created/updated times so tests control time."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self._db = db
        self._clock = clock

    def _now(self) -> str:
        return to_db_time(self._clock())


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def chunked(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """Split long IN (...) lists: SQLite builds may cap bound variables at 999."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
