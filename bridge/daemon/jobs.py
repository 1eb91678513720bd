"""Scheduled jobs: module-level functions taking the wired parts (APScheduler 3.x job targets).

A job never raises into the scheduler for an expected failure: it records the outcome in health and
metrics and returns. A rejected token pauses that network's import job (see `bridge.daemon.scheduler`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bridge.config.schema import BOT_NETWORKS
from bridge.crm import VtigerError
from bridge.daemon.health import State
from bridge.daemon.wiring import Parts
from providers.errors import ProviderAuthError, ProviderError

log = logging.getLogger(__name__)

TOKEN_HELP = {
    "vk": "create a new community token (community settings -> API usage -> access keys, with the "
    "'messages' right) — a VK token dies when the account's password changes — and put it into "
    "networks.vk.token or VSB_NETWORKS_VK_TOKEN",
    "x": "run `python run_bridge.py auth x` to obtain a new user token and put it into networks.x",
    "facebook": "generate a new Page access token in Meta's developer console and put it into "
    "networks.facebook.page_token",
}


@contextmanager
def _vtiger_health(parts: Parts, what: str) -> Iterator[None]:
    """Report vtiger's health from what this job saw: failed on an error, ok only after real calls.

    A job that made no vtiger request (nothing due) must not declare a CRM outage over. The request
    counter is shared by every thread, so it may have grown by another job's failing calls: a failure
    recorded while this job ran keeps the CRM failed.
    """
    before = parts.crm.requests_made()
    failures = parts.health.failure_count("vtiger")
    try:
        yield
    except VtigerError as exc:
        parts.health.failed("vtiger", exc)
        log.warning("%s: the CRM is not answering properly, the work waits: %s", what, exc)
        raise
    if parts.crm.requests_made() > before:
        parts.health.ok("vtiger", unless_failed_since=failures)


@contextmanager
def _timed(parts: Parts, job: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        parts.metrics.job_seconds.labels(job).observe(time.monotonic() - started)


def import_messages(parts: Parts, network: str) -> int:
    """One import run for `network`; returns how many messages were created in the CRM.

    Not before the URL index is usable (bridge/daemon/index_start.py): its first build at start wakes
    the imports when it ends."""
    if network in BOT_NETWORKS and network in parts.streams:
        return 0  # the bot's stream is the one reader of its updates (bridge/daemon/streams.py)
    if not parts.index.usable.is_set():
        log.info("%s import waits for the URL index (%s)", network, parts.index.activity.state)
        return 0
    with _timed(parts, f"import_{network}"), _vtiger_health(parts, f"{network} import"):
        try:
            report = parts.importers[network].run(network)
        except ProviderError as exc:
            state = parts.health.failed(network, exc)
            parts.metrics.imports.labels(network, "error").inc()
            if isinstance(exc, ProviderAuthError):
                log.error(
                    "%s rejected the token: imports paused. To fix it: %s", network, TOKEN_HELP[network]
                )
            else:
                log.warning("%s import failed (%s): %s", network, state, exc)
            raise
    parts.health.ok(network, imported=True)
    parts.metrics.imports.labels(network, "created").inc(report.created)
    parts.metrics.imports.labels(network, "skipped_unknown_sender").inc(report.unknown_sender)
    if report.created:
        log.info("%s: imported %d new message(s)", network, report.created)
    return report.created


@contextmanager
def recording_send(parts: Parts) -> Iterator[None]:
    """Around one send's CRM record in the outbox workers (`bridge.services.outbox_workers`): timed as the
    "outbox" job, and what vtiger answered goes into health."""
    with _timed(parts, "outbox"), _vtiger_health(parts, "outbox"):
        yield


@contextmanager
def streaming(parts: Parts, network: str) -> Iterator[None]:
    """Around one recording of a network's stream (`bridge.services.stream`): timed as "stream_<network>",
    and what vtiger answered goes into health."""
    with _timed(parts, f"stream_{network}"), _vtiger_health(parts, f"{network} stream"):
        yield


@contextmanager
def processing_events(parts: Parts) -> Iterator[None]:
    """Around one run of the webhook-event worker (`bridge.webhook.worker`): timed as the "events" job, and
    what vtiger answered goes into health. A queued send wakes the outbox workers itself
    (`Sender.on_queued`)."""
    with _timed(parts, "events"), _vtiger_health(parts, "webhook events"):
        yield


def prune_state(parts: Parts, now: dt.datetime | None = None) -> int:
    """Drop old message texts and forget old finished rows (`state.keep_texts_days`/`forget_after_days`)."""
    state = parts.config.state
    with _timed(parts, "prune"):
        report = parts.store.prune(
            now or dt.datetime.now(dt.UTC),
            keep_texts=dt.timedelta(days=state.keep_texts_days),
            forget_after=dt.timedelta(days=state.forget_after_days),
        )
    if report.total:
        log.info(
            "state file: dropped the texts of %d send(s) and %d event(s), forgot %d send(s), %d event(s) "
            "and %d bot invitation(s) and update(s)",
            report.send_texts_dropped,
            report.event_texts_dropped,
            report.sends_forgotten,
            report.events_forgotten,
            report.bot_rows_forgotten,
        )
    return report.total


def refresh_index(
    parts: Parts,
    full: bool = False,
    *,
    progress: Callable[[str, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> int:
    with _timed(parts, "index_full" if full else "index"), _vtiger_health(parts, "URL index"):
        return parts.index.refresh(full=full, progress=progress, cancel=cancel)


def check_token(parts: Parts, network: str) -> bool:
    """A cheap read with the (possibly renewed) token; True when the network accepts it."""
    from bridge.config import load_config
    from bridge.daemon.wiring import build_provider

    try:
        fresh_config = load_config(parts.config.source)
    except Exception as exc:  # keep running with the old config; the admin is mid-edit
        log.warning("token check for %s: the configuration cannot be read now: %s", network, exc)
        return False
    provider = build_provider(fresh_config, network)
    try:
        identity = getattr(provider, "bot_identity", None)
        if identity is not None:  # a bot: its updates are read by the import alone
            identity()
        else:
            provider.fetch_messages(parts.store.cursors.get(network), 1)
    except ProviderAuthError:
        closer = getattr(provider, "close", None)
        if closer:
            closer()
        return False
    except ProviderError as exc:
        log.info("token check for %s inconclusive: %s", network, exc)
        return False
    parts.replace_provider(network, provider)
    parts.health.ok(network)
    log.info("%s accepts the token again: imports resumed", network)
    return parts.health.state(network) is State.OK
