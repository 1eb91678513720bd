"""The daemon's lifecycle (mautrix `Program` style): validate, wire, start, run until stopped, stop.

Start: config is already valid -> open the state store (migrations) -> log in to vtiger -> check the CRM
schema -> probe emoji support once -> build the URL index -> start the scheduler -> start the webhook.
Stop (SIGTERM/SIGINT): stop accepting webhooks -> let in-flight work finish (bounded) -> close.
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
from bridge.crm import CrmSchemaError
from bridge.events import Event
from bridge.scheduler import Scheduler
from bridge.store import Store, event_age_limit
from bridge.webhook import WebhookServer, make_app, store_acceptor
from bridge.wiring import Parts, build, set_api_user
from bridge.worker import EventWorker

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_USAGE = 2
EXIT_STARTUP = 3  # the CRM or a network refused us at start (schema, credentials)
EXIT_CONFIG = 78  # sysexits EX_CONFIG: systemd shows config errors apart from crashes
_UTF8_KEY = "crm.supports_4byte_utf8"


class App:
    def __init__(self, config: Config, *, store: Store | None = None) -> None:
        self.config = config
        self.parts: Parts = build(config, store=store)
        self.scheduler = Scheduler(self.parts)
        self.webhook: WebhookServer | None = None
        self.worker = EventWorker(self.parts)
        self._store_event = store_acceptor(self.parts.store)
        self._stop = threading.Event()

    # --- start -------------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Everything before serving: login, schema check, probe, first index build."""
        parts = self.parts
        released = parts.store.release_all_leases()
        if released:
            log.info("resuming %d send(s) interrupted by the previous stop", released)
        info = parts.client.login()
        set_api_user(parts, info.user_id)
        report = parts.crm.check_schema(list(parts.providers))
        for network, reason in report.disabled_networks.items():
            log.warning("%s is disabled: %s", network, reason)
            parts.disable(network)
        parts.health.ok("vtiger")
        for name in parts.providers:
            parts.health.register(name)
        self._probe_utf8(info.user_id)
        log.info("building the CRM URL index")
        started = time.monotonic()
        count = parts.index.refresh(
            full=True, progress=lambda module, n: log.info("URL index: %s, %d records read", module, n)
        )
        log.info("URL index ready: %d records in %.1f s", count, time.monotonic() - started)
        parts.metrics.watch(
            store=parts.store,
            vtiger_stats=lambda: dict(parts.client.stats),
            provider_stats={n: _stats_reader(parts.providers, n) for n in parts.providers},
            now=parts.sender.now,
        )
        parts.sender.observer = self._observe_send

    def _probe_utf8(self, owner: str) -> None:
        crm, store = self.parts.crm, self.parts.store
        if crm.bmp_only is not None:
            return
        key = f"{_UTF8_KEY}.{self.config.vtiger.url}"
        known = store.kv_get(key)
        if known is None:
            known = crm.probe_4byte_utf8(owner)
            store.kv_set(key, known)
            log.info("the CRM %s store emoji", "can" if known else "cannot")
        crm.bmp_only = not known

    def _observe_send(self, network: str, error: Exception | None) -> None:
        parts = self.parts
        if error is None:
            parts.health.ok(network)
            parts.metrics.sends.labels(network, "sent").inc()
        else:
            parts.health.failed(network, error)
            parts.metrics.sends.labels(network, type(error).__name__).inc()

    def _accept(self, event: Event) -> bool:
        fresh = self._store_event(event)  # committed before the webhook answers 202
        if fresh:
            self.worker.wake()
        return fresh

    def start(self) -> None:
        self.prepare()
        self.scheduler.start()
        self.worker.start()
        w = self.config.webhook
        # An event id is forgotten only once no event that old can be accepted any more.
        horizon = event_age_limit(dt.timedelta(days=self.config.state.forget_after_days))
        app = make_app(
            secret=w.secret.reveal(),
            accept=self._accept,
            health=self.parts.health.snapshot,
            metrics=self.parts.metrics.render,
            max_body=w.max_body,
            max_event_age=horizon.total_seconds(),
        )
        self.webhook = WebhookServer(app, host=w.bind, port=w.port).start()
        log.info("webhook listening on %s", self.webhook.url)
        for network in self.parts.providers:
            self.scheduler.wake(f"import_{network}")

    # --- run / stop --------------------------------------------------------------------------------
    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("signal %s received: stopping", signal.Signals(signum).name)
        self._stop.set()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        try:
            self.start()
        except CrmSchemaError as exc:
            log.error("%s", exc)
            self.shutdown()
            return EXIT_STARTUP
        # A timed wait: the main thread returns to the interpreter regularly, so the signal handler
        # runs promptly even where a blocked untimed wait would delay it.
        while not self._stop.wait(0.5):
            pass
        self.shutdown()
        return EXIT_OK

    def shutdown(self) -> None:
        """Stop accepting webhooks, give running jobs a bounded time to finish, close everything."""
        if self.webhook is not None:
            self.webhook.stop()
        grace = self.config.jobs.shutdown_grace_seconds
        deadline = time.monotonic() + grace
        worker_done = self.worker.stop(grace)
        finisher = threading.Thread(target=self.scheduler.shutdown, args=(True,), daemon=True)
        finisher.start()
        finisher.join(max(0.0, deadline - time.monotonic()))
        if finisher.is_alive() or not worker_done:
            log.warning(
                "in-flight work did not finish within %.0f s; the outbox resumes it at next start", grace
            )
        else:
            self.parts.close()
        log.info("stopped")


def _stats_reader(providers: Mapping[str, object], network: str) -> Callable[[], dict[str, int]]:
    """Read a network's request counter at scrape time: the provider is replaced after a token renewal."""
    return lambda: dict(getattr(providers.get(network), "stats", {}))
