"""Long-polled intake: a network's update stream recorded into the CRM as it arrives, one thread per network.

For every network whose provider is `providers.base.LongPolling` and whose intake is long polling (VK with a
community token, Telegram and MAX bots), `StreamIntake` loops, once `ready` (the URL index is usable):

    poll_updates(offset, wait) -> `on_events(network, result.events)` when a handler is given (a Start links
    its sender before the poll's messages are matched) -> record `result.messages` through `Intake.record`
    (the ledger the scheduled import uses: one writer per message, so the stream and the catch-up import
    never make two records) -> persist `next_offset` LAST, and only when no other writer still held one of
    the messages (else the same updates are asked for again after `BUSY_PAUSE`).

A crash anywhere before the offset is persisted only repeats updates: the network gives them again from the
old offset, the ledger and the CRM lookup make the second recording an adoption, and the events handler is
idempotent on `update_id`. A failure to record (the CRM is down) or an events handler that raises leaves
the offset where it was, so the same updates come again after a pause.

What the stream cannot see it says: a result with `missed=True` (VK `failed: 1/3`, a first start without an
offset) calls `on_missed(network)`, which the daemon uses to run the scheduled import at once; that import
reads the network's history itself and is what finds anything the stream lost (a restart, a network
outage, a queue the network forgot).

The loop has its own thread and the provider its own HTTP session for the held request, so it never blocks
webhook handling or sends. Stopping does not wait on a held request (it may be held for `wait` seconds):
the thread is a daemon thread, and a poll answered while stopping is not recorded, so its offset is not
persisted and the network gives the same updates to the next start. Only a recording already under way is
waited for (bounded), so nothing half-done is left that the ledger would not cover anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.services.intake import ImportReport, Intake
from bridge.store import KeyValues
from providers.base import BotEvent, LongPolling, PollResult
from providers.errors import ProviderAuthError, ProviderConflict, ProviderError, ProviderRateLimited

log = logging.getLogger(__name__)

EventHandler = Callable[[str, Sequence[BotEvent]], None]
Guard = Callable[[], AbstractContextManager[object]]

# Seconds before the next poll after the n-th failure in a row (the last repeats): a network outage is
# retried soon, a long one costs one request a minute.
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
# Another poller or a webhook takes the updates: fighting it would only steal its updates turn by turn, so
# the stream looks again rarely until an administrator has decided.
CONFLICT_BACKOFF = (30.0, 60.0, 120.0, 300.0)
# Seconds before a poll whose messages another writer held is asked again (a send finishing its record).
BUSY_PAUSE = 1.0
AUTH_BACKOFF = 300.0  # a rejected token waits for a renewed one (SIGHUP or the token check)


class Offsets(Protocol):
    """Where a stream's offset is kept: `StreamOffsets` (the kv table), or the store's `ImportCursors` when
    the stream IS the network's import (Telegram/MAX, whose update stream is also their history)."""

    def get(self, network: str) -> str | None: ...

    def set(self, network: str, cursor: str | None) -> None: ...


class StreamOffsets:
    """Stream offsets in the state file's kv table, under `stream.<network>.offset`: apart from the scheduled
    import's cursor, which reads the same messages another way (VK: `ts` vs. message ids)."""

    def __init__(self, kv: KeyValues) -> None:
        self._kv = kv

    def get(self, network: str) -> str | None:
        value = self._kv.get(f"stream.{network}.offset")
        return None if value is None else str(value)

    def set(self, network: str, cursor: str | None) -> None:
        self._kv.set(f"stream.{network}.offset", cursor)


@dataclass
class StreamStats:
    """What `/healthz`, `/metrics` and `status` show of one stream."""

    state: str = "starting"  # starting | polling | recording | backing off | conflict | stopped
    reason: str = ""
    since: dt.datetime | None = None
    polls: int = 0
    messages: int = 0  # messages the stream handed to the intake
    created: int = 0  # CRM records the stream created (the rest were known already)
    events: int = 0
    failures: int = 0
    conflicts: int = 0
    missed: int = 0  # times the network said updates may be lost (the import was woken)
    last_poll_at: dt.datetime | None = None
    last_message_at: dt.datetime | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class StreamIntake:
    """One network's long-poll loop on its own thread (see the module docstring).

    Args:
        on_events: the bot-event handler (Telegram/MAX invitations); None where the network has none (VK).
            Called before the poll's messages are stored (a Start links its sender's record, so a message
            that came right after it in the same poll finds that record), and the offset is persisted only
            after both; it must be idempotent on `BotEvent.update_id`, and if it raises the offset is not
            advanced.
        wait: seconds a poll is held open by the network when nothing happens (VK: 25, at most 90).
        on_missed: told when the network says updates may be lost (the daemon wakes the scheduled import).
        observer: told after each poll whether it worked (None) or what failed (the daemon's health).
        guard: entered around each recording (the daemon's vtiger health and timing).
        ready: set when messages can be matched to CRM records (the daemon's URL index is usable); the
            stream does not poll before, so nothing it confirms is matched against a half-built index.
    """

    def __init__(
        self,
        network: str,
        provider: LongPolling,
        intake: Intake,
        offsets: Offsets,
        on_events: EventHandler | None,
        wait: float,
        *,
        on_missed: Callable[[str], None] | None = None,
        observer: Callable[[str, BaseException | None], None] | None = None,
        guard: Guard | None = None,
        ready: threading.Event | None = None,
        backoff: Sequence[float] = BACKOFF,
        conflict_backoff: Sequence[float] = CONFLICT_BACKOFF,
    ) -> None:
        self.network = network
        self.provider = provider  # replaced after a token renewal (an attribute write: atomic)
        self.intake = intake
        self.offsets = offsets
        self.on_events = on_events
        self.wait = wait
        self.on_missed = on_missed
        self.observer = observer
        self.guard: Guard = guard or nullcontext
        self.ready = ready
        self.backoff = tuple(backoff)
        self.conflict_backoff = tuple(conflict_backoff)
        self._stop = threading.Event()
        self._wake = threading.Event()  # ends a pause early: stopping, or a renewed token
        self._recording = threading.Lock()  # held while a poll's answer is stored and its offset persisted
        self._lock = threading.Lock()
        self._stats = StreamStats(since=_now())
        self._last_cause = ""  # the failure last logged: a repeat of it is not logged again
        self._thread = threading.Thread(target=self._run, name=f"stream-{network}", daemon=True)

    # --- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> StreamIntake:
        self._thread.start()
        return self

    def stop(self, grace: float = 0.9) -> bool:
        """Stop polling; wait up to `grace` s for a recording under way, never for a held poll.

        True when no recording was left running. A held poll is abandoned (daemon thread): its answer, if
        it comes, is not recorded, so nothing is lost (the offset only advances after storing).
        """
        self._stop.set()
        self._wake.set()
        done = self._recording.acquire(timeout=grace)
        if done:
            self._recording.release()
        self._set(state="stopped", reason="")
        return done

    def wake(self) -> None:
        """Poll now if the stream is pausing after a failure (e.g. its provider was replaced after a token
        renewal; a rejected token otherwise waits 5 minutes)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def snapshot(self) -> dict[str, Any]:
        """The stream's state and counters, JSON-ready (`/healthz` "streams", `status`, `/metrics`)."""
        with self._lock:
            s = self._stats
            return {
                "state": s.state,
                "reason": s.reason,
                "since": s.since.isoformat() if s.since else None,
                "wait_seconds": self.wait,
                "polls": s.polls,
                "messages": s.messages,
                "created": s.created,
                "events": s.events,
                "failures": s.failures,
                "conflicts": s.conflicts,
                "missed": s.missed,
                "last_poll_at": s.last_poll_at.isoformat() if s.last_poll_at else None,
                "last_message_at": s.last_message_at.isoformat() if s.last_message_at else None,
            }

    # --- the loop ------------------------------------------------------------------------------------
    def _run(self) -> None:
        if self.ready is not None and not self.ready.is_set():
            self._set(state="waiting for the URL index")
            while not self.ready.wait(0.5):
                if self._stop.is_set():
                    return
        failures = 0
        while not self._stop.is_set():
            if not failures:  # while failing, health keeps showing why until a poll works again
                self._set(state="polling", reason="")
            try:
                result = self.provider.poll_updates(self.offsets.get(self.network), self.wait)
                with self._recording:
                    if self._stop.is_set():
                        return  # answered while stopping: not stored, not confirmed; the next start gets it
                    self._set(state="recording")
                    stored = self._store(result)
                if not stored:  # another writer holds one of its messages: ask again shortly
                    self._wake.wait(BUSY_PAUSE)
                    self._wake.clear()
            except Exception as exc:
                if self._stop.is_set():
                    return
                failures += 1
                delay = self._failed(exc, failures)
                self._wake.wait(delay)
                self._wake.clear()
                continue
            if failures:
                log.info("%s long polling works again", self.network)
                self._last_cause = ""
            failures = 0
            if self.observer is not None:
                self.observer(self.network, None)

    def _store(self, result: PollResult) -> bool:
        """Store one poll's answer and confirm it; False when it was left for the next poll because
        another writer (a send still delivering, an import) holds one of its messages."""
        network = self.network
        report = ImportReport(network)
        if result.events and self.on_events is not None:
            self.on_events(network, result.events)
        recorded = True
        with self.guard():
            if result.messages:
                recorded = self.intake.record(network, result.messages, report)
        if not recorded:
            # Not confirmed: the network gives these updates again (a bot has no history to catch up
            # from, so advancing here could lose the held message for good).
            log.debug(
                "%s stream: %d message(s) held by another writer; polling them again", network, report.busy
            )
            return False
        if result.next_offset is not None:
            self.offsets.set(network, result.next_offset)
        now = _now()
        with self._lock:
            s = self._stats
            s.polls += 1
            s.last_poll_at = now
            s.messages += len(result.messages)
            s.created += report.created
            s.events += len(result.events)
            if result.messages:
                s.last_message_at = now
            if result.missed:
                s.missed += 1
        if report.created:
            log.info("%s: %d new message(s) recorded as they arrived", network, report.created)
        if result.missed and self.on_missed is not None:
            self.on_missed(network)
        return True

    def _failed(self, exc: Exception, failures: int) -> float:
        """Log and show a failed poll or recording once per change of cause; the pause before the next."""
        network = self.network
        if self.observer is not None:
            self.observer(network, exc)
        if isinstance(exc, ProviderConflict):
            delay = self.conflict_backoff[min(failures, len(self.conflict_backoff)) - 1]
            if exc.webhook:
                cause = "a webhook is set for this token, so the network refuses long polling"
                fix = "remove the webhook (or let only the webhook's program read the updates)"
            else:
                cause = "another program polls this token (a second bridge?): one reader gets each update"
                fix = "stop the other program"
            reason = (
                f"{cause}: {fix}, or set networks.{network}.intake: poll. The bridge looks again every "
                f"{delay:g} s"
            )
            with self._lock:
                self._stats.conflicts += 1
            self._report("conflict", reason, exc, logging.ERROR)
            return delay
        if isinstance(exc, ProviderAuthError):
            self._report("backing off", str(exc), exc, logging.ERROR)
            return AUTH_BACKOFF
        delay = self.backoff[min(failures, len(self.backoff)) - 1]
        if isinstance(exc, ProviderRateLimited) and exc.retry_after:
            delay = max(delay, exc.retry_after)
        if isinstance(exc, ProviderError):
            self._report("backing off", f"{exc} (next poll in {delay:.0f} s)", exc, logging.WARNING)
        else:  # the CRM while recording, the state file, or a bug: the same updates come again later
            self._report("backing off", f"{type(exc).__name__}: {exc}", exc, logging.WARNING)
        return delay

    def _report(self, state: str, reason: str, exc: Exception, level: int) -> None:
        cause = f"{type(exc).__name__}: {reason.split(' (next poll')[0]}"
        with self._lock:
            self._stats.failures += 1
        self._set(state=state, reason=reason)
        if cause != self._last_cause:  # one line per cause, not one per retry
            self._last_cause = cause
            log.log(level, "%s long polling: %s", self.network, reason)
        elif not isinstance(exc, ProviderError):
            log.debug("%s long polling failed again", self.network, exc_info=exc)

    def _set(self, *, state: str, reason: str | None = None) -> None:
        with self._lock:
            s = self._stats
            # polling <-> recording is the normal breathing of a working stream, not a change of state
            if s.state != state and {s.state, state} != {"polling", "recording"}:
                s.since = _now()
            s.state = state
            if reason is not None:
                s.reason = reason
