"""Scheduled jobs: module-level functions taking the wired parts (APScheduler 3.x job targets).

A job never raises into the scheduler for an expected failure: it records the outcome in health and
metrics and returns. A rejected token pauses that network's import job (see `bridge.scheduler`).
"""

from __future__ import annotations

import logging
import time

from bridge.health import State
from bridge.wiring import Parts
from providers.errors import ProviderAuthError, ProviderError
from vtiger_ws import VtigerError

log = logging.getLogger(__name__)

TOKEN_HELP = {
    "vk": "create a new community token (community settings -> API usage -> access keys, with the "
    "'messages' right) — a VK token dies when the account's password changes — and put it into "
    "networks.vk.token or VSB_NETWORKS_VK_TOKEN",
    "x": "run `python run_bridge.py auth x` to obtain a new user token and put it into networks.x",
    "facebook": "generate a new Page access token in Meta's developer console and put it into "
    "networks.facebook.page_token",
}


def import_messages(parts: Parts, network: str) -> int:
    """One import run for `network`; returns how many messages were created in the CRM."""
    started = time.monotonic()
    try:
        report = parts.importers[network].run(network)
    except ProviderError as exc:
        state = parts.health.failed(network, exc)
        parts.metrics.imports.labels(network, "error").inc()
        if isinstance(exc, ProviderAuthError):
            log.error("%s rejected the token: imports paused. To fix it: %s", network, TOKEN_HELP[network])
        else:
            log.warning("%s import failed (%s): %s", network, state, exc)
        raise
    except VtigerError as exc:
        parts.health.failed("vtiger", exc)
        log.warning("%s import could not write to the CRM: %s", network, exc)
        raise
    finally:
        parts.metrics.job_seconds.labels(f"import_{network}").observe(time.monotonic() - started)
    parts.health.ok(network, imported=True)
    parts.health.ok("vtiger")
    parts.metrics.imports.labels(network, "created").inc(report.created)
    parts.metrics.imports.labels(network, "skipped_unknown_sender").inc(report.unknown_sender)
    if report.created:
        log.info("%s: imported %d new message(s)", network, report.created)
    return report.created


def process_outbox(parts: Parts) -> int:
    started = time.monotonic()
    try:
        done = parts.sender.process_due()
    except VtigerError as exc:
        parts.health.failed("vtiger", exc)
        log.warning("outbox: the CRM is not answering properly, sends wait: %s", exc)
        raise
    finally:
        parts.metrics.job_seconds.labels("outbox").observe(time.monotonic() - started)
    parts.health.ok("vtiger")
    return done


def process_events(parts: Parts) -> int:
    started = time.monotonic()
    try:
        handled = parts.processor.process_pending()
    except VtigerError as exc:
        parts.health.failed("vtiger", exc)
        raise
    finally:
        parts.metrics.job_seconds.labels("events").observe(time.monotonic() - started)
    if handled:
        process_outbox(parts)  # a queued send goes out now, not at the next outbox tick
    return handled


def refresh_index(parts: Parts, full: bool = False) -> int:
    started = time.monotonic()
    try:
        return parts.index.refresh(full=full)
    except VtigerError as exc:
        parts.health.failed("vtiger", exc)
        raise
    finally:
        parts.metrics.job_seconds.labels("index_full" if full else "index").observe(
            time.monotonic() - started
        )


def check_token(parts: Parts, network: str) -> bool:
    """A cheap read with the (possibly renewed) token; True when the network accepts it."""
    from bridge.config import load_config
    from bridge.wiring import build_provider

    try:
        fresh_config = load_config(parts.config.source)
    except Exception as exc:  # keep running with the old config; the admin is mid-edit
        log.warning("token check for %s: the configuration cannot be read now: %s", network, exc)
        return False
    provider = build_provider(fresh_config, network)
    try:
        provider.fetch_messages(parts.store.get_cursor(network), 1)
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
