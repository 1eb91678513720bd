"""The real daemon (`run_bridge.py run`, a subprocess) against sandboxes: the webhook refuses unsigned and
replayed calls end to end, and nothing it logs at DEBUG, answers on /healthz or /metrics holds a secret."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge.webhook.signing import MAX_SKEW, sign
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from sandbox.x import XSandbox
from tests.daemon.helpers import SECRET, Daemon, wait_for, write_config
from tests.security.secrets_support import leaks, planted_secrets, session_names

ROOT = Path(__file__).resolve().parents[2]
EVENTS = "/v1/vtiger/events"


@pytest.fixture
def boxes() -> Iterator[tuple[VtigerSandbox, VkSandbox, XSandbox]]:
    with VtigerSandbox() as crm, VkSandbox() as vk, XSandbox() as x:
        yield crm, vk, x


def _read(state: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=10)  # read-only: the daemon runs
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def _unfinished(state: Path) -> tuple[int, int]:
    return (
        _read(state, "SELECT COUNT(*) FROM webhook_event WHERE done_at IS NULL"),
        _read(state, "SELECT COUNT(*) FROM outbox WHERE done_at IS NULL"),
    )


def _stored_events(state: Path) -> int:
    return _read(state, "SELECT COUNT(*) FROM webhook_event")


def _post(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(
        url + EVENTS, data=body, headers={"Content-Type": "application/json", **headers}, timeout=5
    )


def test_daemon_refuses_unsigned_and_replayed_sends_and_logs_no_secret(
    tmp_path: Path, boxes: tuple[VtigerSandbox, VkSandbox, XSandbox]
) -> None:
    crm, vk, x = boxes
    uid = vk.add_user("Replay", "Target", screen_name="replay_target")
    record = crm.seed(
        "Contacts",
        {"lastname": "Target", "assigned_user_id": "19x1", "vk_url": "https://vk.com/replay_target"},
    )
    config = write_config(tmp_path, crm, vk, x=x, extra="logging: {level: DEBUG}\n")
    daemon = Daemon(config)
    try:
        assert daemon.url is not None, "".join(daemon.lines)
        body = json.dumps(
            {
                "event": "send",
                "module": "Contacts",
                "id": record,
                "event_id": "sec-1",
                "text": "Ваш заказ готов",
            }
        ).encode("utf-8")
        # Unauthenticated: no headers, a wrong secret, a signature of another body, a stale timestamp.
        now = int(time.time())
        refused = [
            _post(daemon.url, body, {}),
            _post(daemon.url, body, sign("wrong-secret-0123456789", body, now)),
            _post(daemon.url, body, {**sign(SECRET, b"{}", now)}),
            _post(daemon.url, body, sign(SECRET, body, now - MAX_SKEW - 60)),
        ]
        assert [r.status_code for r in refused] == [401, 401, 401, 401]
        # The genuine call, then the very same bytes and headers captured and replayed twice.
        headers = sign(SECRET, body, now)
        assert _post(daemon.url, body, headers).status_code == 202
        assert wait_for(lambda: len(crm.records("SPSocialConnector")) == 1, timeout=15), "".join(daemon.lines)
        replays = [_post(daemon.url, body, headers) for _ in range(2)]
        assert [r.status_code for r in replays] == [200, 200]
        assert all(r.json()["duplicate"] is True for r in replays)
        # A re-signed copy (vtiger retrying with a fresh timestamp) is the same event too.
        assert _post(daemon.url, body, sign(SECRET, body, int(time.time()))).status_code == 200
        health = requests.get(daemon.url + "/healthz", timeout=5)
        metrics = requests.get(daemon.url + "/metrics", timeout=5)
        # A replay wrongly taken as new would be a stored event by now (the answer comes after the store):
        # wait until every stored event is processed and every send finished, then count.
        state = tmp_path / "state.sqlite3"
        assert wait_for(lambda: _unfinished(state) == (0, 0), timeout=30), (_unfinished(state), daemon.log)
        assert _stored_events(state) == 1
    finally:
        code = daemon.terminate()
    assert code == 0, "".join(daemon.lines[-20:])
    assert len(vk.delivered_to(uid)) == 1
    assert len(crm.records("SPSocialConnector")) == 1
    log = "".join(daemon.lines)
    assert "webhook: accepted send" in log  # the log was captured
    assert session_names(crm), "the daemon talked to vtiger with a session"
    secrets = planted_secrets(crm, vk, x)
    assert leaks(log, secrets) == []
    assert "sessionName=" not in log
    assert leaks(health.text, secrets) == [] and leaks(metrics.text, secrets) == []
