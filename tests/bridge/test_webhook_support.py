"""Shared helpers for the webhook tests: a recording `accept`, a settable clock, a live server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from bridge.webhook.endpoint import EVENTS_PATH, make_app
from bridge.webhook.events import Event
from bridge.webhook.server import WebhookServer
from bridge.webhook.signing import sign

SECRET = "test-secret-9f2c41"
NOW = 1_800_000_000.0


@dataclass
class Recorder:
    """An `accept` that remembers events by id, like the store does; `fail` makes it raise."""

    events: list[Event] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    fail: BaseException | None = None
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event: Event) -> bool:
        with self.lock:
            self.calls += 1
            if self.fail is not None:
                raise self.fail
            if event.event_id in self.seen:
                return False
            self.seen.add(event.event_id)
            self.events.append(event)
            return True


@dataclass
class Clock:
    now: float = NOW

    def __call__(self) -> float:
        return self.now


@dataclass
class Bridge:
    url: str
    session: requests.Session
    recorder: Recorder
    clock: Clock
    health: dict[str, Any]

    def post_raw(self, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
        return self.session.post(self.url + EVENTS_PATH, data=body, headers=headers or {}, timeout=5)

    def post_signed(
        self,
        body: bytes,
        content_type: str = "application/json",
        *,
        ts: float | None = None,
        secret: str = SECRET,
    ) -> requests.Response:
        headers = {**sign(secret, body, self.clock.now if ts is None else ts), "Content-Type": content_type}
        return self.post_raw(body, headers)

    def post_event(self, event: dict[str, Any]) -> requests.Response:
        return self.post_signed(json.dumps(event).encode("utf-8"))


def running_bridge() -> Iterator[Bridge]:
    """A live server with a recording `accept`; tests wrap it in their own `bridge` fixture."""
    recorder = Recorder()
    clock = Clock()
    health: dict[str, Any] = {"status": 200, "body": {"status": "ok", "providers": {"vk": "CONNECTED"}}}
    app = make_app(
        secret=SECRET,
        accept=recorder,
        health=lambda: (health["status"], health["body"]),
        metrics=lambda: (
            b"# TYPE bridge_events_total counter\nbridge_events_total 3\n",
            "text/plain; version=0.0.4; charset=utf-8",
        ),
        clock=clock,
    )
    with WebhookServer(app) as server, requests.Session() as session:
        yield Bridge(server.url, session, recorder, clock, health)


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event": "record_saved",
        "module": "Contacts",
        "id": "12x5",
        "data": {"lastname": "Иванов", "cf_vk": "https://vk.com/id1"},
        "changed": ["cf_vk"],
        "ts": NOW,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}
