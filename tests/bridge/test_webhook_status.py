"""`GET /v1/vtiger/status`: signed like the events, read-only, what the CRM's settings page shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.daemon.health import Health
from bridge.store import Store
from bridge.store.outbox_rows import SendTarget
from bridge.webhook.endpoint import make_app
from bridge.webhook.server import WebhookServer
from bridge.webhook.signing import sign
from bridge.webhook.status import RECENT, STATUS_PATH, build_status
from providers.errors import ProviderAuthError
from tests.bridge.test_webhook_support import SECRET, Clock, Recorder


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "state.sqlite3") as opened:
        yield opened


@pytest.fixture
def health() -> Health:
    found = Health(secrets=["vk-token-secret-1"])
    found.ok("vtiger")
    found.failed("vk", ProviderAuthError("token vk-token-secret-1 was revoked"))
    return found


class Server:
    def __init__(self, url: str, clock: Clock) -> None:
        self.url = url
        self.clock = clock

    def get(
        self, *, secret: str = SECRET, ts: float | None = None, signed: bool = True, body: bytes = b""
    ) -> requests.Response:
        headers = sign(secret, body, self.clock.now if ts is None else ts) if signed else {}
        return requests.get(self.url + STATUS_PATH, headers=headers, data=body or None, timeout=5)


def _serve(status: Any, clock: Clock) -> WebhookServer:
    app = make_app(
        secret=SECRET,
        accept=Recorder(),
        health=lambda: (200, {}),
        metrics=lambda: (b"", "text/plain"),
        clock=clock,
        status=status,
    )
    return WebhookServer(app)


@pytest.fixture
def server(store: Store, health: Health) -> Iterator[Server]:
    clock = Clock()

    def status() -> dict[str, Any]:
        return build_status(
            outbox=store.outbox,
            events=store.events,
            health=health.snapshot,
            version="9.9.9",
            crm_url="http://crm.example/",
        )

    with _serve(status, clock) as running:
        yield Server(running.url, clock)


def _fail_a_send(store: Store, record: str, text: str) -> int:
    outbox_id = store.outbox.enqueue_send(
        record_id=record,
        module="Contacts",
        text=text,
        targets=[SendTarget("vk", "vk_url", "https://vk.com/id1")],
        event_id=None,
        requested_by="test",
    )
    store.outbox.mark_target_sending(outbox_id, "vk")
    store.outbox.mark_target_failed(outbox_id, "vk", "privacy", "the user does not accept messages")
    return outbox_id


def test_signed_status_shows_health_outbox_and_recent_failures(server: Server, store: Store) -> None:
    failed = _fail_a_send(store, "12x5", "Здравствуйте")
    store.outbox.enqueue_send(
        record_id="12x6",
        module="Contacts",
        text="waits",
        targets=[SendTarget("vk", "vk_url", "https://vk.com/id2")],
        event_id=None,
        requested_by="test",
    )
    store.events.remember("vt-1", "import_profile", {"event": "import_profile", "id": "12x7"})
    store.events.mark_done("vt-1", "record 12x7 could not be read")
    answer = server.get()
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["bridge"]["version"] == "9.9.9" and body["crm"] == {"url": "http://crm.example/"}
    components = body["health"]["components"]
    assert components["vtiger"]["state"] == "ok"
    assert components["vk"]["state"] == "bad credentials"
    assert "vk-token-secret-1" not in answer.text  # masked by Health
    assert body["outbox"]["unfinished"] == 2 and body["outbox"]["oldest_seconds"] >= 0
    [send] = body["failures"]["sends"]
    assert (send["send"], send["record"], send["network"], send["error"]) == (
        failed,
        "12x5",
        "vk",
        "the user does not accept messages",
    )
    [event] = body["failures"]["events"]
    assert (event["event_id"], event["record"], event["error"]) == (
        "vt-1",
        "12x7",
        "record 12x7 could not be read",
    )


def test_failures_are_bounded(server: Server, store: Store) -> None:
    for n in range(RECENT + 5):
        _fail_a_send(store, f"12x{n + 1}", f"text {n}")
    assert len(server.get().json()["failures"]["sends"]) == RECENT


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"signed": False}, "missing_signature"),
        ({"secret": "not-the-secret-123"}, "bad_signature"),
        ({"ts": 1_800_000_000.0 - 301}, "stale_timestamp"),
    ],
)
def test_an_unsigned_or_wrongly_signed_call_learns_nothing(
    server: Server, kwargs: dict[str, Any], code: str
) -> None:
    answer = server.get(**kwargs)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == code
    assert "components" not in answer.text


def test_other_methods_are_refused(server: Server) -> None:
    answer = requests.post(server.url + STATUS_PATH, headers=sign(SECRET, b"", server.clock.now), timeout=5)
    assert answer.status_code == 405 and answer.headers["Allow"] == "GET"


def test_without_a_status_source_there_is_no_such_endpoint() -> None:
    clock = Clock()
    with _serve(None, clock) as running:
        answer = Server(running.url, clock).get()
    assert answer.status_code == 404


def test_a_failing_status_source_is_a_503_without_details() -> None:
    clock = Clock()

    def broken() -> dict[str, Any]:
        raise OSError("database is locked at /secret/path")

    with _serve(broken, clock) as running:
        answer = Server(running.url, clock).get()
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "status_unavailable"
    assert "/secret/path" not in answer.text


def test_build_status_of_an_empty_store(store: Store) -> None:
    now = dt.datetime(2026, 1, 31, 10, 0, tzinfo=dt.UTC)
    body = build_status(
        outbox=store.outbox,
        events=store.events,
        health=lambda: (200, {"status": "ok", "components": {}}),
        version="1",
        crm_url="u",
        now=lambda: now,
    )
    assert body["bridge"]["time"] == "2026-01-31T10:00:00Z"
    assert body["outbox"] == {"unfinished": 0, "oldest_seconds": None}
    assert body["failures"] == {"sends": [], "events": []}
