"""The outbox's workers: each network's sends go out as fast as its rate limiter allows, and their CRM
records are written alongside.

One sequential loop cannot keep that pace: a send's CRM record costs four or five vtiger requests (about
100 ms at a real SalesPlatform's latency, benchmarks/README.md), five times the spacing of VK's 19
requests/s; and one slow network (X allows about 1 request/s, and a 429 pauses it for minutes) would
hold every send queued behind it. So the work runs in lanes, one thread each:

- a delivery lane per enabled network claims the oldest send with a due target on its network, delivers
  that target (`Sender.deliver_to`) and releases the send. One thread per network is enough, since the
  limiter spaces that network's requests anyway, and it is what guarantees that a target left in
  `sending` by a lane sleeping in its limiter is never taken up by a second worker of the same network.
- RECORDERS recorders claim sends whose every target is finished and write the send's one CRM record
  (`Sender.process`: look up, create, link, comment).

Every claim is the outbox lease, so a send has one worker at a time whatever its kind; every step is
persisted as `bridge.services.sending` describes, so a kill -9 anywhere resumes at the next start (App.prepare
frees the dead process's leases). A failure holds its send for `sweep` seconds (its lease runs on) and
pauses that lane (1, 2, 4 ... s, at most `sweep`); the other lanes go on, so a CRM outage does not stop
deliveries and a slow network does not stop the others. An idle lane sleeps until its next send is due
(a retry time, a held lease's end), until woken (a send queued, another lane done with a send), and
`sweep` seconds at most: sends queued by another process (the CLI while the daemon runs) are found so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from bridge.crm import VtigerError
from bridge.services.sending import Sender
from bridge.store import OutboxSend, StoreError
from providers.errors import ProviderError
from providers.ratelimit import RateLimiter

log = logging.getLogger(__name__)

RECORDERS = 4  # x ~100 ms per record = 40 records/s, twice VK's 20 requests/s
_MIN_NAP = 0.05  # seconds: a due time that a race made stale never becomes a busy loop

Guard = Callable[[], AbstractContextManager[object]]


class _Lane:
    def __init__(self, name: str, network: str | None) -> None:
        self.name = name
        self.network = network  # None: a recorder
        self.wake = threading.Event()
        self.idle = False
        self.pausing = False  # after a failure: no wake-up shortens the pause, only stop()
        self.failures = 0
        self.thread: threading.Thread | None = None


class OutboxWorkers:
    """Delivery lanes and recorders over one `Sender` (see the module docstring).

    Args:
        sweep_seconds: the longest an idle lane sleeps, and how long a send waits after a failure
            (`jobs.outbox_interval_seconds`).
        guard: entered around each CRM record (the daemon's health and timing of the CRM phase).
    """

    def __init__(
        self,
        sender: Sender,
        *,
        sweep_seconds: float = 60.0,
        recorders: int = RECORDERS,
        guard: Guard | None = None,
    ) -> None:
        self.sender = sender
        self.outbox = sender.outbox
        self.sweep = max(_MIN_NAP, sweep_seconds)
        self.recorders = recorders
        self.guard: Guard = guard or contextlib.nullcontext
        self._networks: tuple[str, ...] = ()
        self._lanes: list[_Lane] = []
        self._stop = threading.Event()
        self._cond = threading.Condition()

    # --- control -----------------------------------------------------------------------------------
    def start(self) -> None:
        """One lane per network the sender has now, and the recorders; each looks for work at once."""
        self._networks = tuple(self.sender.providers)
        self._lanes = [_Lane(f"outbox-{n}", n) for n in self._networks]
        self._lanes += [_Lane(f"outbox-crm-{i + 1}", None) for i in range(self.recorders)]
        for lane in self._lanes:
            lane.thread = threading.Thread(target=self._run, args=(lane,), name=lane.name, daemon=True)
            lane.thread.start()

    def wake(self) -> None:
        """Something may be due now (a send was queued): every lane looks."""
        self._wake(self._lanes)

    def drain(self, timeout: float | None = None) -> bool:
        """Block until every lane is idle (or pausing after a failure) at once: nothing can be claimed
        now. Sends waiting for a later attempt or held after a failure stay queued. True when drained
        within `timeout`."""
        with self._cond:
            return self._cond.wait_for(lambda: all(ln.idle or ln.pausing for ln in self._lanes), timeout)

    def stop(self, timeout: float) -> bool:
        """Let each lane finish the send in its hands and end; True when all ended within `timeout`."""
        self._stop.set()
        self._wake(self._lanes)
        deadline = time.monotonic() + timeout
        for lane in self._lanes:
            if lane.thread is not None:
                lane.thread.join(max(0.0, deadline - time.monotonic()))
        return not any(lane.thread is not None and lane.thread.is_alive() for lane in self._lanes)

    def _wake(self, lanes: list[_Lane]) -> None:
        with self._cond:
            for lane in lanes:
                lane.idle = False
                lane.wake.set()

    def _rest(self, lane: _Lane, seconds: float) -> None:
        with self._cond:
            if not lane.wake.is_set():
                lane.idle = True
                self._cond.notify_all()
        lane.wake.wait(min(self.sweep, max(_MIN_NAP, seconds)))

    # --- one lane ----------------------------------------------------------------------------------
    def _run(self, lane: _Lane) -> None:
        while not self._stop.is_set():
            with self._cond:
                lane.idle = False
                lane.wake.clear()
            send: OutboxSend | None = None
            try:
                send, rest = self._claim(lane)
                if send is None:
                    self._rest(lane, rest)
                    continue
                handed_back = self._work(lane, send)
            except Exception as exc:  # this send waits; the lane and the others go on
                self._failed(lane, send, exc)
                continue
            lane.failures = 0
            if handed_back:
                # The send may now be due for another lane (the next network, or its CRM record).
                self._wake([other for other in self._lanes if other is not lane])

    def _claim(self, lane: _Lane) -> tuple[OutboxSend | None, float]:
        now, lease = self.sender.now(), self.sender.lease_seconds
        if lane.network is None:
            send = self.outbox.claim_send_to_record(self._networks, now, lease)
            due = None if send else self.outbox.next_due_to_record(self._networks, now)
            return send, _seconds_until(due, now, self.sweep)
        hint = _server_hint(self.sender.providers.get(lane.network))
        if hint > 0:
            # Wait the network's "retry after" out here, not asleep in its limiter with a lease held.
            return None, hint
        send = self.outbox.claim_send_for(lane.network, now, lease)
        due = None if send else self.outbox.next_due_for(lane.network)
        return send, _seconds_until(due, now, self.sweep)

    def _work(self, lane: _Lane, send: OutboxSend) -> bool:
        """Advance a claimed send; True when its lease was released for other lanes to take it."""
        if lane.network is not None:
            self.sender.deliver_to(send, lane.network)
            return self._release(send)
        with self.guard():
            done = self.sender.process(send)  # done: the lease went with the finished send
        if not done:
            # Only a target of a network without a lane waits for a later attempt: it sets the time.
            self._hold(send)
        return False

    def _release(self, send: OutboxSend) -> bool:
        if not send.lease_token:
            return False
        return self.outbox.release(send.id, send.lease_token)

    def _hold(self, send: OutboxSend) -> None:
        if send.lease_token:
            self.outbox.hold(send.id, send.lease_token, self.sender.now() + dt.timedelta(seconds=self.sweep))

    def _failed(self, lane: _Lane, send: OutboxSend | None, exc: Exception) -> None:
        lane.failures += 1
        pause = min(self.sweep, 2.0 ** (lane.failures - 1))
        what = f"send {send.id}" if send is not None else "the outbox"
        if isinstance(exc, VtigerError | ProviderError | StoreError):
            log.warning("%s could not be completed now (%s); it is tried again later", what, exc)
        else:
            log.error("%s: unexpected error in %s; it is tried again later", what, lane.name, exc_info=exc)
        if send is not None:
            try:
                self._hold(send)
            except Exception as hold_exc:  # e.g. the disk is full: the lease expires on its own
                log.warning("send %s could not be set aside: %s", send.id, hold_exc)
        # A failing CRM must not be hit again at every delivery's wake-up: the pause runs its course.
        with self._cond:
            lane.pausing = True
            self._cond.notify_all()
        self._stop.wait(pause)
        with self._cond:
            lane.pausing = False


@contextlib.contextmanager
def running(sender: Sender, *, sweep_seconds: float, grace_seconds: float) -> Iterator[OutboxWorkers]:
    """Outbox workers for a command: woken by every send the sender queues, stopped (bounded) at the end."""
    workers = OutboxWorkers(sender, sweep_seconds=sweep_seconds)
    sender.on_queued = workers.wake
    workers.start()
    try:
        yield workers
    finally:
        sender.on_queued = None
        workers.stop(grace_seconds)


def _seconds_until(due: dt.datetime | None, now: dt.datetime, cap: float) -> float:
    if due is None:
        return cap
    return min(cap, (due - now).total_seconds())


def _server_hint(provider: object) -> float:
    """Seconds the network asked us to wait (kept by its limiter), 0 when it did not."""
    for name in ("rate_limiter", "limiter"):
        limiter = getattr(provider, name, None)
        if isinstance(limiter, RateLimiter):
            return limiter.blocked_for()
    return 0.0
