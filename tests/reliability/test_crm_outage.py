"""vtiger goes away in every way a PHP server does, then comes back: no send or import lost or doubled,
the webhook keeps answering 202 throughout, and /healthz shows the outage while it lasts and clears after.

Modes: HTTP 500 with an empty body, HTTP 200 with an empty body, an HTML page, connections closed and then
refused (the sandbox stopped), answers slower than the configured vtiger timeout, and `create` alone failing
(so sends reach VK and X but cannot be recorded until the CRM is back).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.reliability.helpers import (
    Boxes,
    Client,
    Daemon,
    add_clients,
    enqueue,
    open_sends,
    pending_events,
    problems,
    send_event,
    wait_for,
    write_config,
)

VTIGER_TIMEOUT = 1.0


def health(url: str) -> tuple[int, str]:
    answer = requests.get(f"{url}/healthz", timeout=5)
    return answer.status_code, str(answer.json()["components"]["vtiger"]["state"])


def _outage(boxes: Boxes, mode: str) -> Callable[[], None]:
    """Start an outage of the given kind; returns what ends it."""
    crm = boxes.crm
    if mode == "http 500":
        crm.faults.http_error(500, times=None)
    elif mode == "empty 200":
        crm.faults.http_error(200, times=None)
    elif mode == "html":
        crm.faults.html(times=None)
    elif mode == "create 500":
        crm.faults.http_error(500, operation="create", times=None)
    elif mode == "timeout":
        crm.faults.latency = VTIGER_TIMEOUT * 1.5
    elif mode == "refused":
        crm.faults.drop(times=None)  # kept-alive connections are closed on their next request ...
        crm.stop()  # ... and new ones refused

        def restart() -> None:
            crm.faults.clear()
            crm.start()

        return restart
    return crm.faults.clear


MODES = ["http 500", "empty 200", "html", "refused", "timeout", "create 500"]


@pytest.mark.parametrize("mode", MODES)
def test_sends_during_a_crm_outage_are_recorded_once_after_it(
    boxes: Boxes, tmp_path: Path, mode: str
) -> None:
    # `create 500` with one send: several sends whose CRM create fails together are
    # test_one_unrecordable_send_does_not_hold_back_the_others.
    clients = add_clients(boxes, 1 if mode == "create 500" else 3, "out")
    state, slug = tmp_path / "state.sqlite3", mode.replace(" ", "-")
    sends: list[tuple[Client, str]] = []
    with Daemon(write_config(tmp_path, boxes, vtiger_timeout=VTIGER_TIMEOUT)) as daemon:
        url = daemon.url
        assert url is not None
        assert health(url) == (200, "ok")
        end = _outage(boxes, mode)
        try:
            for n, client in enumerate(clients):
                text = f"{mode}: send {n}"
                assert send_event(url, client, f"{slug}-{n}", text) == 202  # the webhook keeps serving
                sends.append((client, text))
            assert wait_for(lambda: health(url)[1] != "ok", timeout=10)
            if mode == "create 500":  # the networks are not held back by the CRM
                assert wait_for(lambda: all(boxes.vk.delivered_to(c.vk_uid) for c, _ in sends), timeout=5)
            assert open_sends(state) + pending_events(state) == len(sends)
        finally:
            end()
        # No new event: failed events are tried again soon after the failure, held sends after the hold.
        settled = lambda: open_sends(state) == 0 and pending_events(state) == 0  # noqa: E731
        assert wait_for(settled, timeout=30)
        assert wait_for(lambda: health(url) == (200, "ok"))
        assert daemon.terminate() == 0
    assert problems(boxes, state, sends) == []
    assert len(boxes.crm.records("SPSocialConnector")) == len(sends)


def test_one_unrecordable_send_does_not_hold_back_the_others(boxes: Boxes, tmp_path: Path) -> None:
    clients = add_clients(boxes, 3, "batch")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    with Daemon(config) as daemon:  # the first start probes the CRM (a create); later ones do not
        daemon.terminate()
    queue = [(c, f"batch send {n}") for n, c in enumerate(clients)]
    enqueue(state, queue)  # the restart finds all three queued
    boxes.crm.faults.http_error(500, operation="create", times=None)
    with Daemon(config) as daemon:
        delivered = wait_for(lambda: all(boxes.x.delivered_to(c.x_uid) for c, _ in queue), timeout=2)
        boxes.crm.faults.clear()
        settled = delivered and wait_for(lambda: open_sends(state) == 0, timeout=3)
        daemon.terminate()
    assert delivered
    assert settled
    assert problems(boxes, state, queue) == []


def test_health_reports_a_crm_outage_for_as_long_as_it_lasts(boxes: Boxes, tmp_path: Path) -> None:
    (client,) = add_clients(boxes, 1, "health")
    with Daemon(write_config(tmp_path, boxes)) as daemon:
        url = daemon.url
        assert url is not None
        boxes.crm.faults.http_error(500, times=None)
        try:
            assert send_event(url, client, "health-1", "while vtiger is down") == 202
            assert wait_for(lambda: health(url)[1] != "ok")
            samples = []
            for _ in range(8):  # spread over several holds of the failing send (0.2 s each)
                samples.append(health(url))
                time.sleep(0.1)
        finally:
            boxes.crm.faults.clear()
        daemon.terminate()
    assert all(code == 503 and state != "ok" for code, state in samples), samples


def _index_state(url: str) -> str:
    return str(requests.get(f"{url}/healthz", timeout=5).json()["url_index"]["state"])


def test_messages_arriving_during_a_crm_outage_are_imported_once_after_it(
    boxes: Boxes, tmp_path: Path
) -> None:
    clients = add_clients(boxes, 3, "imp")
    state = tmp_path / "state.sqlite3"
    # An import run every 0.6 s: at least one fails during the outage, one more runs after the catch-up.
    with Daemon(write_config(tmp_path, boxes, import_minutes=0.01)) as daemon:
        url = daemon.url
        assert url is not None
        # Imports wait for the URL index's first build (bridge/daemon/index_start.py): the outage begins
        # after it, so the imports it meets are the ones under test.
        assert wait_for(lambda: _index_state(url) == "ready", timeout=30), daemon.log
        boxes.crm.faults.http_error(500, times=None)
        texts = []
        for n, client in enumerate(clients):
            texts.append((client, f"incoming vk {n}", f"incoming x {n}"))
            boxes.vk.incoming(client.vk_uid, f"incoming vk {n}")
            boxes.x.incoming_dm(client.x_uid, f"incoming x {n}")
        fetches = boxes.vk.count("messages.getConversations")
        assert wait_for(lambda: boxes.vk.count("messages.getConversations") >= fetches + 1, timeout=10)
        assert boxes.crm.records("SPSocialConnector") == []
        # The run seen fetching may not have reached its CRM call yet: wait for the failure it meets.
        assert wait_for(lambda: health(url)[0] == 503, timeout=10)
        boxes.crm.faults.clear()
        expected = {t for _, vk_text, x_text in texts for t in (vk_text, x_text)}
        assert wait_for(lambda: {r["message"] for r in boxes.crm.records("SPSocialConnector")} == expected)
        runs = boxes.vk.count("messages.getConversations")
        assert wait_for(lambda: boxes.vk.count("messages.getConversations") >= runs + 1, timeout=10)
        assert daemon.terminate() == 0
    records = boxes.crm.records("SPSocialConnector")
    assert sorted(r["message"] for r in records) == sorted(expected)  # once each, after further runs
    for client, vk_text, x_text in texts:
        mine = [r for r in records if r["message"] in (vk_text, x_text)]
        assert all(boxes.crm.related(r["id"]) == [client.record] for r in mine)
        assert {r["type"] for r in mine} == {"Incoming"}
    assert open_sends(state) == 0
