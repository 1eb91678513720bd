"""One daemon per state file: an exclusive `flock` on `<state file>.lock`, which names its holder.

Two daemons on one state file would both import and both run the outbox; leases keep sends single, but
each start releases every lease (`Store.release_all_leases`), so the second start would hand the first
one's in-flight sends to itself. The lock file holds the pid and the start time of the daemon holding
it, so the one refused (and `status`) can name it. The kernel drops the lock when the process dies, so
a crash never leaves a stale lock; the file itself stays and is simply taken over.

CLI commands (send, import-profile, ...) do not take the lock: they run next to the daemon by design.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from bridge.exits import EXIT_CANTCREAT, EXIT_TEMPFAIL, Failure


@dataclass(frozen=True)
class Holder:
    pid: int
    since: dt.datetime | None
    webhook: str | None = None  # the address the daemon listens on (its port may have been chosen at start)


def lock_path(state_path: str) -> Path:
    return Path(f"{state_path}.lock")


def _read(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
        since = dt.datetime.fromisoformat(data["since"]) if data.get("since") else None
        return Holder(int(data["pid"]), since, data.get("webhook"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class StateLock:
    """Held for the daemon's lifetime; `acquire` raises `Failure` naming the daemon that holds it."""

    def __init__(self, state_path: str) -> None:
        self.path = lock_path(state_path)
        self._memory = state_path == ":memory:"  # tests with an in-memory store share nothing
        self._fd: int | None = None
        self._info: dict[str, object] = {}

    def acquire(self) -> None:
        if self._memory:
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise Failure(
                EXIT_CANTCREAT,
                f"cannot create the lock file {self.path} next to the state file "
                f"({exc.strerror}): the state folder must be writable by the bridge",
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _read(self.path)
            who = "another bridge"
            if holder is not None:
                since = f", running since {holder.since:%Y-%m-%d %H:%M:%S %Z}" if holder.since else ""
                who = f"another bridge (pid {holder.pid}{since})"
            raise Failure(
                EXIT_TEMPFAIL,
                (
                    f"{who} already runs on the state file {str(self.path)[:-5]}; two daemons on one state "
                    "file would do the same work twice. Stop it first (systemctl stop vtiger-social-bridge), "
                    "or give this one its own state.path"
                ),
            ) from None
        self._fd = fd
        self._info = {"pid": os.getpid(), "since": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()}
        self._write()

    def note_webhook(self, url: str) -> None:
        """Record where the daemon listens, for `status` and `health`."""
        self._info["webhook"] = url
        self._write()

    def _write(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, json.dumps(self._info).encode("ascii"), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def running_daemon(state_path: str) -> Holder | None:
    """The daemon holding the state file's lock, or None when no daemon runs on it."""
    path = lock_path(state_path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read(path) or Holder(0, None)
    finally:
        os.close(fd)  # also drops the shared lock taken just to look
    return None
