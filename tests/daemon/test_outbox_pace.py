"""The daemon works its queues by itself: sends queued through the webhook go out at the network's pace,
and what a previous run left behind (stored events, queued sends) is taken up at start, with no outbox
pass and no new event to set it off. Both the outbox's and the event worker's sweeps are an hour here."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.daemon.app import App
from bridge.store import SendTarget, Store
from bridge.webhook.endpoint import store_acceptor
from bridge.webhook.events import Event
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import post_event, wait_for, write_config

VK_RATE = 20  # the sandbox answers error 6 above it; the daemon is configured with the same number
NO_SWEEP = {"VSB_JOBS_OUTBOX_INTERVAL_SECONDS": "3600", "VSB_NETWORKS_VK_RATE_LIMIT": str(VK_RATE)}


@pytest.fixture
def boxes() -> Iterator[tuple[VtigerSandbox, VkSandbox]]:
    with VtigerSandbox() as crm, VkSandbox(rate_limit=VK_RATE) as vk:
        yield crm, vk


def contacts(crm: VtigerSandbox, vk: VkSandbox, count: int) -> list[tuple[str, int]]:
    out = []
    for n in range(count):
        uid = vk.add_user("Pace", f"N{n}")
        record = crm.seed(
            "Contacts",
            {"lastname": f"Pace{n}", "assigned_user_id": "19x1", "vk_url": f"https://vk.com/id{uid}"},
        )
        out.append((record, uid))
    return out


def send_payload(record: str, n: int) -> dict[str, object]:
    return {"event": "send", "module": "Contacts", "id": record, "event_id": f"pace-{n}", "text": f"pace {n}"}


def all_done(crm: VtigerSandbox, vk: VkSandbox, clients: list[tuple[str, int]]) -> bool:
    return all(vk.delivered_to(uid) for _, uid in clients) and len(crm.records("SPSocialConnector")) >= len(
        clients
    )


def check_once_each(crm: VtigerSandbox, vk: VkSandbox, clients: list[tuple[str, int]]) -> None:
    records = {r["message"]: r for r in crm.records("SPSocialConnector")}
    assert len(records) == len(crm.records("SPSocialConnector")) == len(clients)
    for n, (record, uid) in enumerate(clients):
        delivered = vk.delivered_to(uid)
        assert [m["text"] for m in delivered] == [f"pace {n}"]
        assert records[f"pace {n}"]["vk_message_id"] == str(delivered[0]["id"])
        assert crm.related(records[f"pace {n}"]["id"]) == [record]


def start(tmp_path: Path, crm: VtigerSandbox, vk: VkSandbox) -> App:
    app = App(load_config(write_config(tmp_path, crm, vk), env=NO_SWEEP))
    app.worker.interval = 3600.0  # the event worker's sweep: only its start-up wake-up may find the events
    app.start()
    return app


def test_a_burst_of_webhook_sends_goes_out_at_the_networks_pace_without_an_outbox_pass(
    tmp_path: Path, boxes: tuple[VtigerSandbox, VkSandbox]
) -> None:
    crm, vk = boxes
    clients = contacts(crm, vk, 120)
    app = start(tmp_path, crm, vk)
    try:
        assert app.webhook is not None
        url = app.webhook.url
        with ThreadPoolExecutor(8) as pool:
            answers = list(
                pool.map(
                    lambda n: post_event(url, send_payload(clients[n][0], n)).status_code, range(len(clients))
                )
            )
        assert answers == [202] * len(clients)
        # ~6.3 s at 19 messages/s; the deadline only guards against waiting for a pass that never comes.
        assert wait_for(lambda: all_done(crm, vk, clients), timeout=120)
    finally:
        app.shutdown()
    check_once_each(crm, vk, clients)
    assert vk.rate_limited == 0  # never faster than VK allows


def test_what_a_killed_daemon_left_is_taken_up_at_start_with_no_new_event(
    tmp_path: Path, boxes: tuple[VtigerSandbox, VkSandbox]
) -> None:
    crm, vk = boxes
    clients = contacts(crm, vk, 4)
    config = load_config(write_config(tmp_path, crm, vk), env=NO_SWEEP)
    # What a daemon killed right after answering 202 leaves: stored events, not yet processed, more than
    # one batch of them (100 saves that changed nothing social, then two sends) ...
    with Store(config.state.path) as store:
        accept = store_acceptor(store.events)
        for n in range(100):
            assert accept(
                Event(
                    event="record_saved",
                    module="Contacts",
                    record_id=clients[0][0],
                    ts=0.0,
                    event_id=f"a-saved-{n:03}",
                    changed=["description"],
                )
            )
        for n in (0, 1):
            payload = send_payload(clients[n][0], n)
            assert accept(
                Event(
                    event="send",
                    module="Contacts",
                    record_id=str(payload["id"]),
                    ts=0.0,
                    event_id=str(payload["event_id"]),
                    text=str(payload["text"]),
                )
            )
        # ... and two sends queued (as `Sender.enqueue` writes them) but never delivered.
        for n in (2, 3):
            record, uid = clients[n]
            target = SendTarget("vk", "vk_url", f"https://vk.com/id{uid}", account_id=str(uid))
            store.outbox.enqueue_send(
                record_id=record,
                module="Contacts",
                text=f"pace {n}",
                targets=[target],
                event_id=f"pace-{n}",
                requested_by="workflow",
            )
    app = start(tmp_path, crm, vk)
    try:
        assert wait_for(lambda: all_done(crm, vk, clients), timeout=60)
        assert app.parts.store.events.pending() == []
    finally:
        app.shutdown()
    check_once_each(crm, vk, clients)
