"""What `GET /v1/vtiger/status` answers: the bridge as the CRM's settings page shows it.

The vtiger module's settings page (vtiger_plugin/package/settings/views/Status.php) reads this server-side,
signed like the events endpoint (bridge.webhook.signing: HMAC of "<timestamp>." and the empty body), so the
secret never reaches a browser. Read-only: health per component, the outbox, the latest failures of sends
and of workflow events. Nothing here is secret (health reasons are masked by bridge.daemon.health; send and
event errors are the readable reasons the CRM also gets), and every list is bounded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Protocol

from bridge.store import OutboxSend, WebhookEvent

STATUS_PATH = "/v1/vtiger/status"
RECENT = 10  # failures of each kind shown
_TEXT_LIMIT = 300


class OutboxView(Protocol):
    """What the status reads of the outbox (`bridge.store.Outbox`)."""

    def depth(self) -> int: ...
    def oldest_pending_age(self, now: dt.datetime) -> dt.timedelta | None: ...
    def failures(self, limit: int = 20) -> list[OutboxSend]: ...


class EventsView(Protocol):
    """What the status reads of the workflow events (`bridge.store.WebhookEvents`)."""

    def failures(self, limit: int = 20) -> list[WebhookEvent]: ...


def package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("vtiger-social-bridge")
    except PackageNotFoundError:  # a checkout run without installing
        return "unknown"


def _when(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _short(text: str | None) -> str:
    text = text or ""
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _send_failures(sends: list[OutboxSend]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for send in sends:
        for target in send.targets:
            if target.state == "failed":
                rows.append(
                    {
                        "send": send.id,
                        "record": send.record_id,
                        "network": target.network,
                        "at": _when(target.last_attempt_at or send.created_at),
                        "error": _short(target.error_text or target.error_code),
                    }
                )
    return rows[:RECENT]


def _event_failures(events: list[WebhookEvent]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for event in events:
        payload = event.payload if isinstance(event.payload, dict) else {}
        rows.append(
            {
                "event_id": event.event_id,
                "event": event.kind,
                "record": str(payload.get("id", "")),
                "at": _when(event.done_at or event.received_at),
                "error": _short(event.error),
            }
        )
    return rows


def build_status(
    *,
    outbox: OutboxView,
    events: EventsView,
    health: Callable[[], tuple[int, dict[str, Any]]],
    version: str,
    crm_url: str,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> dict[str, Any]:
    """The JSON body of the status endpoint."""
    moment = now()
    _, health_body = health()
    age = outbox.oldest_pending_age(moment)
    return {
        "bridge": {"version": version, "time": _when(moment)},
        "crm": {"url": crm_url},
        "health": health_body,
        "outbox": {
            "unfinished": outbox.depth(),
            "oldest_seconds": int(age.total_seconds()) if age is not None else None,
        },
        "failures": {
            "sends": _send_failures(outbox.failures(limit=RECENT)),
            "events": _event_failures(events.failures(limit=RECENT)),
        },
    }
