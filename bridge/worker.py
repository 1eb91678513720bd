"""The webhook worker: processes stored events as soon as the webhook accepted them.

A dedicated thread rather than a scheduler job: a wake-up that arrives while a run is in progress must
lead to another run, which APScheduler's `max_instances=1` would skip. The flag is cleared *before* each
run, so nothing accepted during a run waits for the next sweep (every `interval` seconds anyway).
"""

from __future__ import annotations

import logging
import threading

from bridge import jobs
from bridge.wiring import Parts

log = logging.getLogger(__name__)


class EventWorker:
    def __init__(self, parts: Parts, interval: float = 30.0) -> None:
        self.parts = parts
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
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                jobs.process_events(self.parts)
            except Exception as exc:  # logged and shown in health by the job; the worker lives on
                log.warning("processing webhook events failed (%s); retrying at the next wake-up", exc)
