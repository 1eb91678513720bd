"""SIGHUP (`systemctl reload vtiger-social-bridge`): re-read the configuration and apply what is safe.

Applied at once: logging, each enabled network's credentials, addresses, limits, import settings and
long-poll wait, job intervals, the shutdown grace and the CRM language. Everything else (the CRM address and
user, the state file, the webhook, the messages module, field names, switching a network on or off or
between long polling and the scheduled import: `intake`) is
wired into objects built at start-up: a change there is named in the log as waiting for a restart, and
the running value stays.

A file that does not load leaves the running configuration untouched (one ERROR line says why). Changed
keys are named, never their values: several of them are secrets.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from bridge.config import Config, ConfigError, NetworksConfig, load_config
from bridge.config.schema import NETWORKS
from bridge.config.secrets import Secret
from bridge.daemon.logs import configure
from bridge.daemon.scheduler import Scheduler, import_job_id
from bridge.daemon.wiring import Parts, build_provider, detect_language

log = logging.getLogger(__name__)

_RELOADABLE_KEYS = frozenset(
    {
        "vtiger.language",
        "jobs.outbox_interval_seconds",
        "jobs.index_refresh_minutes",
        "jobs.shutdown_grace_seconds",
    }
)


def flatten(obj: object, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> comparable value for every leaf of a config object (secrets revealed, for comparing)."""
    if isinstance(obj, Secret):
        return {prefix: obj.reveal()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(obj):
            if f.name != "source":
                out.update(flatten(getattr(obj, f.name), f"{prefix}.{f.name}" if prefix else f.name))
        return out
    return {prefix: obj}


def changed_keys(old: Config, new: Config) -> list[str]:
    a, b = flatten(old), flatten(new)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def _reloadable(key: str, old: Config, new: Config) -> bool:
    section = key.split(".", 1)[0]
    if section == "logging" or key in _RELOADABLE_KEYS:
        return True
    if section == "networks":
        if key.endswith(".intake"):
            return False  # starting or stopping a network's stream is wired at start-up
        network = key.split(".")[1]
        was: bool = getattr(old.networks, network).enabled
        now: bool = getattr(new.networks, network).enabled
        return was and now  # switching a network on or off rewires every service
    return False


def reload_config(parts: Parts, scheduler: Scheduler) -> Config:
    """Apply the configuration file's current content where safe; returns the configuration now in force."""
    old = parts.config
    try:
        new = load_config(old.source)
    except ConfigError as exc:
        log.error(
            "SIGHUP: %s not reloaded, the running configuration stays: %s",
            old.source,
            " ".join(str(exc).split()),
        )
        return old
    keys = changed_keys(old, new)
    if not keys:
        log.info("SIGHUP: %s re-read; nothing changed", old.source)
        return old
    applied = [k for k in keys if _reloadable(k, old, new)]
    waiting = [k for k in keys if k not in applied]
    effective = _merge(old, new)
    parts.config = effective
    _apply(parts, scheduler, old, effective, applied)
    if applied:
        log.info("SIGHUP: reloaded %s", ", ".join(applied))
    if waiting:
        log.warning(
            "SIGHUP: %s changed but take effect only after a restart "
            "(systemctl restart vtiger-social-bridge); the running values stay",
            ", ".join(waiting),
        )
    return effective


def _merge(old: Config, new: Config) -> Config:
    """`old` with the reloadable parts of `new`."""
    sections = {}
    for network in NETWORKS:
        before, after = getattr(old.networks, network), getattr(new.networks, network)
        if before.enabled and after.enabled and hasattr(after, "intake"):
            after = dataclasses.replace(after, intake=before.intake)  # waits for a restart (_reloadable)
        sections[network] = after if before.enabled and after.enabled else before
    return dataclasses.replace(
        old,
        logging=new.logging,
        jobs=dataclasses.replace(new.jobs, misfire_grace_seconds=old.jobs.misfire_grace_seconds),
        networks=NetworksConfig(**sections),
        vtiger=dataclasses.replace(old.vtiger, language=new.vtiger.language),
    )


def _apply(parts: Parts, scheduler: Scheduler, old: Config, new: Config, keys: list[str]) -> None:
    secrets = sorted(set(old.secrets()) | set(new.secrets()))  # old ones may still sit in queued texts
    parts.health.add_secrets(secrets)
    if any(k.startswith("logging.") for k in keys):
        lg = new.logging
        configure(lg.level, lg.format, lg.file, secrets)
    if "vtiger.language" in keys:
        detect_language(parts, parts.crm.api_user_id)
    for network in NETWORKS:
        prefix = f"networks.{network}."
        mine = [k for k in keys if k.startswith(prefix)]
        if not mine or network not in parts.providers:
            continue
        section = getattr(new.networks, network)
        if any(not k.startswith(prefix + "imports.") for k in mine):
            parts.replace_provider(network, build_provider(new, network))
            # A token renewed by the reload is tried now, not at the next 5-minute token check.
            scheduler.wake(f"token_check_{network}")
        importer = parts.importers.get(network)
        if importer is not None:
            importer.limit = section.imports.limit
            importer.unknown_sender = section.imports.unknown_sender
        if prefix + "invitation_days" in mine:
            parts.inviter.valid_for[network] = dt.timedelta(days=section.invitation_days)
        stream = parts.streams.get(network)
        if stream is not None and prefix + "longpoll_wait" in mine:
            stream.wait = float(getattr(section, "longpoll_wait", stream.wait))  # from the next poll on
        if prefix + "imports.interval_minutes" in mine:
            scheduler.set_interval(import_job_id(network), minutes=section.imports.interval_minutes)
    jobs = new.jobs
    if "jobs.outbox_interval_seconds" in keys:
        scheduler.set_interval("outbox", seconds=jobs.outbox_interval_seconds)
    if "jobs.index_refresh_minutes" in keys:
        scheduler.set_interval("index", minutes=jobs.index_refresh_minutes)
