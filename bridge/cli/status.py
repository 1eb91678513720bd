"""`status` (what the bridge is doing and what went wrong lately) and `health` (is the daemon up).

Both read the daemon from outside: the state file's lock names the daemon process, and its `/healthz`
(on the configured webhook address) says how each component is doing.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from typing import Any

from bridge.config import Config
from bridge.daemon.lock import running_daemon
from bridge.exits import EXIT_OK, EXIT_UNAVAILABLE


def healthz_url(config: Config) -> str:
    """The daemon's /healthz: where the running daemon says it listens, else where the config says."""
    holder = running_daemon(config.state.path)
    if holder is not None and holder.webhook:
        return f"{holder.webhook}/healthz"
    host = config.webhook.bind
    if host in ("0.0.0.0", "", "::"):  # listening everywhere: ask over loopback
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.webhook.port}/healthz"


def fetch_health(config: Config, timeout: float = 4.0) -> dict[str, Any] | None:
    """The daemon's /healthz body (200 healthy or 503 degraded alike), or None when nothing answers."""
    try:
        with urllib.request.urlopen(healthz_url(config), timeout=timeout) as answer:
            body = answer.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except (OSError, ValueError):
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _health_line(health: dict[str, Any]) -> str:
    components = health.get("components") or {}
    bad = [
        f"{name}: {c.get('state')}" + (f" ({c.get('reason')})" if c.get("reason") else "")
        for name, c in components.items()
        if c.get("state") not in ("ok", "starting")
    ]
    if not bad:
        return "healthy"
    return "degraded: " + "; ".join(bad)


def _index_line(index: dict[str, Any]) -> str:
    """What the daemon's URL index is doing (bridge/daemon/index_start.py)."""
    state = str(index.get("state") or "?")
    line = f"URL index: {state}, {index.get('records', 0)} link(s)"
    if state in ("building", "rebuilding", "catching up"):
        line += f"; {index.get('read', 0)} records read since {index.get('since') or '?'}"
        if state == "building":
            line += " (imports wait for it; sends and webhook events do not)"
    elif state == "failed":
        line += f": {index.get('error', '')} (tried again within a minute)"
    elif index.get("ready_at"):
        line += f", up to date as of {index['ready_at']}"
    return line


def _stream_line(network: str, stream: dict[str, Any]) -> str:
    """One line per long-poll stream: its state, why when it is not working, what it brought in."""
    state = str(stream.get("state"))
    reason = f" ({stream['reason']})" if stream.get("reason") else ""
    last = stream.get("last_message_at")
    when = f"{last[:19].replace('T', ' ')} UTC" if last else "none yet"
    return (
        f"{network}: long polling {state}{reason}; {stream.get('messages', 0)} message(s) received, "
        f"{stream.get('created', 0)} recorded, last at {when}"
    )


def cmd_health(config: Config, args: argparse.Namespace) -> int:
    """Exit 0 while the daemon answers (healthy or degraded: one network down is not a dead daemon)."""
    health = fetch_health(config)
    if health is None:
        print(f"the daemon does not answer on {healthz_url(config)}")
        return EXIT_UNAVAILABLE
    print(_health_line(health))
    return EXIT_OK


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from bridge.store import Store

    holder = running_daemon(config.state.path)
    if holder is None:
        print(f"daemon: not running on {config.state.path}")
    else:
        since = f", since {holder.since:%Y-%m-%d %H:%M:%S} UTC" if holder.since else ""
        health = fetch_health(config)
        state = _health_line(health) if health else f"not answering on {healthz_url(config)}"
        print(f"daemon: running (pid {holder.pid}{since}), {state}")
        if health and isinstance(health.get("url_index"), dict):
            print(_index_line(health["url_index"]))
        for network, stream in ((health or {}).get("streams") or {}).items():
            print(_stream_line(network, stream))
    with Store(config.state.path) as store:
        print(f"outbox: {store.outbox.depth()} unfinished send(s)")
        for send in store.outbox.list_sends("open", limit=20):
            states = ", ".join(f"{t.network}: {t.state}" for t in send.targets)
            print(f"  send {send.id} to {send.record_id} ({send.created_at:%Y-%m-%d %H:%M}): {states}")
        failures = store.outbox.failures(limit=10)
        if failures:
            print("recent failures of sends:")
            for send in failures:
                for t in send.targets:
                    if t.error_text:
                        print(f"  send {send.id} to {send.record_id} {t.network}: {t.error_text}")
        events = store.events.failures(limit=10)
        if events:
            print("recent failures of workflow events:")
            for event in events:
                payload = event.payload if isinstance(event.payload, dict) else {}
                print(
                    f"  {event.received_at:%Y-%m-%d %H:%M} {event.kind} {payload.get('id', '?')} "
                    f"(event {event.event_id}): {event.error}"
                )
        for network in config.networks.enabled():
            at = store.cursors.last_import_at(network)
            print(
                f"{network}: last import {at:%Y-%m-%d %H:%M:%S} UTC" if at else f"{network}: never imported"
            )
    return EXIT_OK
