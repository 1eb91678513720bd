"""The URL index at start-up, in the background: the webhook listens before the CRM is read.

- The state file holds a complete build of the index's current layout (`UrlIndex.needs_full_build` is
  False): the index catches up by `modifiedtime` (one query per module and one per 100 changed records),
  imports start as soon as it has, and if its last full build is older than `REBUILD_AFTER` a full
  rebuild follows (the only thing that drops records deleted in the CRM), imports going on meanwhile.
- Otherwise (first start, a lost or replaced state file, a first build that was killed, other fields or
  networks): the index is built in full, logging its progress; imports wait for it, since an index read
  in part would take known clients for unknown senders (skipped, or made into Leads). Sends and webhook
  events never wait: a send reads its record, an event updates the index itself.

What the index is doing is on /healthz (`url_index`) and in `status`. `stop` ends the walk between two
records, so SIGTERM is not held up by a 100,000-record build.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from bridge.daemon import jobs
from bridge.daemon.wiring import Parts

log = logging.getLogger(__name__)

REBUILD_AFTER = dt.timedelta(hours=24)  # as the scheduler's "index_full" job
RETRY_AFTER = (2.0, 5.0, 15.0, 30.0, 60.0)  # seconds before the n-th retry of a failed start-up walk


class IndexStart:
    """Brings the URL index up to date on its own thread (see the module docstring)."""

    def __init__(self, parts: Parts, on_usable: Callable[[], None]) -> None:
        self.parts = parts
        self.on_usable = on_usable
        self.cancel = threading.Event()
        self.thread: threading.Thread | None = None
        self.full = parts.index.needs_full_build()

    def describe(self) -> str:
        if self.full:
            return (
                "the URL index is built from the CRM in the background (no complete index of these fields "
                "in the state file); imports start once it is built"
            )
        return "the URL index in the state file catches up with the CRM's changes in the background"

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="url-index", daemon=True)
        self.thread.start()

    def stop(self, timeout: float) -> bool:
        """Stop walking; True when the thread has ended within `timeout` seconds."""
        self.cancel.set()
        if self.thread is None:
            return True
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _run(self) -> None:
        index = self.parts.index
        started = time.monotonic()
        failures = 0
        while True:
            try:
                count = jobs.refresh_index(self.parts, self.full, progress=_progress, cancel=self.cancel)
                break
            except Exception as exc:
                # The CRM failed mid-walk (an outage at start): imports and streams wait for the index, so
                # try again soon rather than at the scheduled refresh (minutes later).
                delay = RETRY_AFTER[min(failures, len(RETRY_AFTER) - 1)]
                failures += 1
                log.warning(
                    "URL index: %s failed (%s); trying again in %g s",
                    "the build" if self.full else "the catch-up",
                    exc,
                    delay,
                )
                if self.cancel.wait(delay):
                    return
        if self.cancel.is_set():
            return
        log.info(
            "URL index ready: %d records %s in %.1f s (%d in the index)",
            count,
            "read" if self.full else "changed since the last start",
            time.monotonic() - started,
            index.table.count(),
        )
        self.on_usable()
        if not self.full and index.full_build_due(REBUILD_AFTER):
            log.info("URL index: its last full build is over a day old; rebuilding it in the background")
            try:
                jobs.refresh_index(self.parts, True, progress=_progress, cancel=self.cancel)
            except Exception as exc:
                log.warning("URL index: the rebuild failed (%s); the daily rebuild tries again", exc)


def _progress(module: str, count: int) -> None:
    log.info("URL index: %s, %d records read", module, count)
