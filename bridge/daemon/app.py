"""The daemon's lifecycle (mautrix `Program` style): validate, wire, start, run until stopped, stop.

Start: config is already valid -> open the state store (migrations) -> lock it (one daemon per state file)
-> log in to vtiger -> read its language -> check the CRM schema -> look for emoji support (read-only)
-> start the scheduler, the webhook-event worker and the outbox workers -> start the webhook -> bring the
URL index up to date in the background (bridge/daemon/index_start.py); once it is usable, the imports and
the long-poll streams (`bridge.daemon.streams`) start. A failure a user can fix ends in one line and its
exit code (`bridge.daemon.explain`). SIGHUP reloads the configuration (`bridge.daemon.reload`).
Stop (SIGTERM/SIGINT): stop the streams (a held poll is not waited for) -> stop accepting webhooks -> let
in-flight work finish (bounded) -> close.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from types import FrameType

from bridge.config import Config
from bridge.daemon import jobs
from bridge.daemon.explain import explain, port_in_use
from bridge.daemon.index_start import IndexStart
from bridge.daemon.lock import StateLock
from bridge.daemon.metrics import count_send
from bridge.daemon.scheduler import Scheduler, import_job_id
from bridge.daemon.streams import build_streams
from bridge.daemon.wiring import Parts, build, detect_language, emoji_proven, remember_emoji_proof
from bridge.exits import EXIT_CONFIG, EXIT_CRASH, EXIT_OK, EXIT_STARTUP, EXIT_USAGE
from bridge.services.outbox_workers import OutboxWorkers
from bridge.store import Store, event_age_limit
from bridge.webhook.endpoint import make_app
from bridge.webhook.inbox import EventInbox
from bridge.webhook.server import WebhookServer
from bridge.webhook.status import build_status, package_version
from bridge.webhook.worker import EventWorker

log = logging.getLogger(__name__)

__all__ = ["EXIT_CONFIG", "EXIT_CRASH", "EXIT_OK", "EXIT_STARTUP", "EXIT_USAGE", "App"]


class App:
    def __init__(self, config: Config, *, store: Store | None = None) -> None:
        self.config = config
        self.parts: Parts = build(config, store=store)
        self.scheduler = Scheduler(self.parts)
        self.webhook: WebhookServer | None = None
        self.worker = EventWorker(self.parts.processor, guard=lambda: jobs.processing_events(self.parts))
        self.outbox = OutboxWorkers(
            self.parts.sender,
            sweep_seconds=config.jobs.outbox_interval_seconds,
            guard=lambda: jobs.recording_send(self.parts),
        )
        self.inbox = EventInbox(self.parts.store.events, self.worker)
        self._stop = threading.Event()
        self._reload = threading.Event()
        self.index_start: IndexStart | None = None

    # --- start -------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Everything before serving: login, schema check, probe, first index build."""
        parts = self.parts
        released = parts.store.release_all_leases()
        if released:
            log.info("resuming %d send(s) interrupted by the previous stop", released)
        info = parts.crm.login()
        detect_language(parts, info.user_id)
        report = parts.crm.check_schema(list(parts.providers))
        for network, reason in report.disabled_networks.items():
            log.warning("%s is disabled: %s", network, reason)
            parts.disable(network)
        parts.health.ok("vtiger")
        for name in parts.providers:
            parts.health.register(name)
        self._probe_utf8()
        # Read from the CRM after the webhook listens (bridge/daemon/index_start.py).
        self.index_start = IndexStart(parts, on_usable=self._wake_imports)
        log.info("%s", self.index_start.describe())
        parts.health.sections["url_index"] = parts.index.status
        parts.metrics.watch(
            outbox=parts.store.outbox,
            kv=parts.store.kv,
            vtiger_stats=parts.crm.request_counts,
            provider_stats={n: _stats_reader(parts.providers, n) for n in parts.providers},
            now=parts.sender.now,
            health=parts.health.snapshot,
            streams=self._streams_snapshot,
        )
        parts.health.streams = self._streams_snapshot
        parts.sender.observer = self._observe_send

    def _probe_utf8(self) -> None:
        """Emoji support: as configured, else looked for in what the CRM already stores (no write)."""
        crm = self.parts.crm
        if crm.bmp_only is not None:
            return
        if not emoji_proven(self.parts):
            found = crm.probe_4byte_utf8()
            if found:
                remember_emoji_proof(self.parts)
                log.info("the CRM stores emoji (found one in its messages)")
            else:
                log.info(
                    "emoji are written as readable names (e.g. :slightly_smiling_face:): the CRM "
                    "holds no emoji yet to prove it can store them. If its database uses utf8mb4, "
                    "set vtiger.supports_4byte_utf8: true"
                )
            crm.bmp_only = not found
            return
        crm.bmp_only = False

    def _observe_send(self, network: str, error: Exception | None) -> None:
        parts = self.parts
        if error is None:
            parts.health.ok(network)
        else:
            parts.health.failed(network, error)
        count_send(parts.store.kv, network, error)

    def start(self) -> None:
        self.prepare()
        self.scheduler.start()
        self.parts.sender.on_queued = self.outbox.wake
        self.outbox.start()  # sends a previous run left in the outbox go out now
        self.worker.start()
        w = self.config.webhook
        # An event id is forgotten only once no event that old can be accepted any more.
        horizon = event_age_limit(dt.timedelta(days=self.config.state.forget_after_days))
        app = make_app(
            secret=w.secret.reveal(),
            accept=self.inbox.accept,
            health=self.parts.health.snapshot,
            metrics=self.parts.metrics.render,
            max_body=w.max_body,
            observe=lambda outcome: self.parts.metrics.webhook_requests.labels(outcome).inc(),
            max_event_age=horizon.total_seconds(),
            status=lambda: build_status(
                outbox=self.parts.store.outbox,
                events=self.parts.store.events,
                health=self.parts.health.snapshot,
                version=package_version(),
                crm_url=self.config.vtiger.url,
            ),
        )
        self.webhook = WebhookServer(app, host=w.bind, port=w.port).start()
        log.info(
            "webhook listening on %s (%d vtiger requests since start)",
            self.webhook.url,
            self.parts.crm.requests_made(),
        )
        # The streams start now and poll once the index is usable (`StreamIntake.ready`), whichever
        # build or refresh makes it so.
        self._start_streams()
        if self.index_start is not None:
            self.index_start.start()  # imports are woken once the index is usable

    def _wake_imports(self) -> None:
        for network in self.parts.providers:
            self.scheduler.wake(f"import_{network}")

    def _start_streams(self) -> None:
        parts = self.parts
        parts.streams = build_streams(parts, on_missed=lambda n: self.scheduler.wake(import_job_id(n)))
        for network, stream in parts.streams.items():
            stream.start()
            minutes = getattr(self.config.networks, network).imports.interval_minutes
            log.info(
                "%s: long polling (held up to %g s); the scheduled import catches up every %g min",
                network,
                stream.wait,
                minutes,
            )

    def _streams_snapshot(self) -> dict[str, dict[str, object]]:
        return {network: stream.snapshot() for network, stream in self.parts.streams.items()}

    # --- run / stop --------------------------------------------------------------------------------
    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("signal %s received: stopping", signal.Signals(signum).name)
        self._stop.set()

    def request_reload(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """SIGHUP: reload on the main thread's next turn (a signal handler must not do the work)."""
        self._reload.set()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)
        lock = StateLock(self.config.state.path)
        try:
            lock.acquire()
            self.start()
            if self.webhook is not None:
                lock.note_webhook(self.webhook.url)
        except Exception as exc:
            # A mistake the administrator can fix gets one line and its exit code; anything else is a bug
            # and keeps its traceback (logged once, by the command line).
            failure = explain(exc, self.config)
            if failure is None and isinstance(exc, OSError):
                failure = port_in_use(exc, self.config)
            self.shutdown()
            lock.release()
            if failure is None:
                raise
            log.error("%s", failure.line)
            return failure.code
        # A timed wait: the main thread returns to the interpreter regularly, so the signal handler
        # runs promptly even where a blocked untimed wait would delay it.
        while not self._stop.wait(0.5):
            if self._reload.is_set():
                self._reload.clear()
                from bridge.daemon.reload import reload_config

                self.config = reload_config(self.parts, self.scheduler)
        self.shutdown()
        lock.release()
        return EXIT_OK

    def shutdown(self) -> None:
        """Stop accepting webhooks, give running jobs a bounded time to finish, close everything."""
        # First the streams: a held poll is abandoned, not waited for (its answer is not recorded, so its
        # offset is not persisted and the network gives the same updates to the next start); only a
        # recording under way gets up to a second to finish.
        for stream in self.parts.streams.values():
            stream.stop(grace=1.0)
        if self.webhook is not None:
            self.webhook.stop()
        grace = self.config.jobs.shutdown_grace_seconds
        deadline = time.monotonic() + grace
        if self.index_start is not None:
            self.index_start.stop(min(grace, 5.0))
        worker_done = self.worker.stop(grace)
        outbox_done = self.outbox.stop(max(0.0, deadline - time.monotonic()))
        finisher = threading.Thread(target=self.scheduler.shutdown, args=(True,), daemon=True)
        finisher.start()
        finisher.join(max(0.0, deadline - time.monotonic()))
        if finisher.is_alive() or not worker_done or not outbox_done:
            log.warning(
                "in-flight work did not finish within %.0f s; the outbox resumes it at next start", grace
            )
        else:
            self.parts.close()
        log.info("stopped")


def _stats_reader(providers: Mapping[str, object], network: str) -> Callable[[], dict[str, int]]:
    """Read a network's request counter at scrape time: the provider is replaced after a token renewal."""
    return lambda: dict(getattr(providers.get(network), "stats", {}))
