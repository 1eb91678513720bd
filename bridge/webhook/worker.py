"""The webhook worker: processes stored events as soon as the webhook accepted them.

A dedicated thread rather than a scheduler job: a wake-up that arrives while a run is in progress must
lead to another run, which APScheduler's `max_instances=1` would skip. The flag is cleared *before* each
run, so nothing accepted during a run waits for the next sweep (every `interval` seconds anyway). After a
failed run (the CRM is down) the next one comes sooner, 1, 2, 4 ... s up to `interval`, so events wait
for the CRM's return, not for a sweep. A run takes a batch (`EventProcessor.process_pending`); one that
handled any is followed by another at once, so a burst larger than a batch does not wait for the sweep.
"""

from __future__ import annotations

import contextlib
import logging
import threading

from bridge.services.outbox_workers import Guard
from bridge.webhook.processor import EventProcessor

log = logging.getLogger(__name__)


class EventWorker:
    """Runs `processor.process_pending` on its own thread (see the module docstring).

    Args:
        guard: entered around each run (the daemon's health and timing of the "events" job).
    """

    def __init__(
        self, processor: EventProcessor, *, guard: Guard | None = None, interval: float = 30.0
    ) -> None:
        self.processor = processor
        self.guard: Guard = guard or contextlib.nullcontext
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-events", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.wake()  # events stored while the daemon was down

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float) -> bool:
        """Ask the worker to stop after its current run; True when it did within `timeout`."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.wait(min(self.interval, 2.0 ** (failures - 1)) if failures else self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                with self.guard():
                    handled = self.processor.process_pending()
                if handled:
                    self._wake.set()  # more may be stored than one batch took
                failures = 0
            except Exception as exc:  # logged and shown in health by the job; the worker lives on
                failures += 1
                log.warning("processing webhook events failed (%s); retrying soon", exc)
