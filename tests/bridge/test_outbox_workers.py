"""The outbox workers over real HTTP: queued sends start at once, one network's trouble or a CRM outage
holds back only what it must, retries come when due, and every send is delivered and recorded once.

The sweep is set to an hour throughout, so nothing here can be the work of a periodic pass."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bridge.services.outbox_workers import OutboxWorkers
from bridge.services.sending import Sender, SendRequest
from sandbox.x_model import generic_problem, problem
from tests.bridge.conftest import World
from tests.daemon.helpers import wait_for

HOUR = 3600.0


@contextmanager
def workers(sender: Sender, **kwargs: float) -> Iterator[OutboxWorkers]:
    pump = OutboxWorkers(sender, sweep_seconds=kwargs.pop("sweep_seconds", HOUR), **kwargs)  # type: ignore[arg-type]
    sender.on_queued = pump.wake
    pump.start()
    try:
        yield pump
    finally:
        assert pump.stop(10)


def vk_contacts(world: World, count: int, tag: str) -> list[tuple[str, int]]:
    out = []
    for n in range(count):
        uid = world.vk_box.add_user("Burst", f"{tag}{n}")
        out.append((world.contact(f"{tag}{n}", vk_url=f"https://vk.com/id{uid}"), uid))
    return out


def records_by_text(world: World) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for record in world.messages():
        found.setdefault(record["message"], []).append(record)
    return found


def test_a_burst_is_delivered_and_recorded_once_each_with_no_pass_to_wait_for(world: World) -> None:
    clients = vk_contacts(world, 40, "burst")
    sender = world.sender()
    with workers(sender) as pump:
        for n, (record, _) in enumerate(clients):
            sender.enqueue(SendRequest(record, f"burst {n}"))
        assert wait_for(lambda: world.store.outbox.depth() == 0, timeout=60)
        assert pump.drain(timeout=30)
    texts = records_by_text(world)
    for n, (record, uid) in enumerate(clients):
        delivered = world.vk_box.delivered_to(uid)
        assert [m["text"] for m in delivered] == [f"burst {n}"]
        (rec,) = texts[f"burst {n}"]
        assert rec["vk_message_id"] == str(delivered[0]["id"]) and rec["vk_status"] == "Sent"
        assert world.crm_box.related(rec["id"]) == [record]
    assert len(world.messages()) == len(clients)


def test_sends_left_in_the_outbox_go_out_when_the_workers_start(world: World) -> None:
    clients = vk_contacts(world, 3, "left")
    sender = world.sender()
    for n, (record, _) in enumerate(clients):
        sender.enqueue(SendRequest(record, f"left {n}"))  # nobody is woken: no workers yet
    with workers(sender):
        assert wait_for(lambda: world.store.outbox.depth() == 0, timeout=30)
    assert all(len(world.vk_box.delivered_to(uid)) == 1 for _, uid in clients)


def test_x_held_by_its_rate_limit_does_not_hold_back_vk(world: World) -> None:
    reset = str(int(time.time()) + 600)
    headers = {"x-rate-limit-limit": "15", "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
    world.x_box.faults.custom(
        lambda _r: problem(429, generic_problem(429, "Too Many Requests"), headers), operation="dm_create"
    )
    clients = []
    for n in range(6):
        uid = world.vk_box.add_user("Both", f"n{n}")
        xid = world.x_box.add_user(f"both_x{n}", f"Both {n}")
        record = world.contact(
            f"Both{n}", vk_url=f"https://vk.com/id{uid}", tw_url=f"https://x.com/both_x{n}"
        )
        clients.append((record, uid, xid))
    sender = world.sender()
    with workers(sender):
        for n, (record, _, _) in enumerate(clients):
            sender.enqueue(SendRequest(record, f"both {n}"))
        # X said "wait 10 minutes" at its first DM: every VK message still goes out now.
        assert wait_for(lambda: all(world.vk_box.delivered_to(uid) for _, uid, _ in clients), timeout=30)
        assert all(world.x_box.delivered_to(xid) == [] for _, _, xid in clients)
    assert world.messages() == []  # each record waits for its send's X outcome
    assert world.store.outbox.depth() == len(clients)
    assert world.x_box.count("dm_create") == 1  # no DM was fired into the pause ...
    attempts = sorted(s.target("x").attempts for s in world.store.outbox.list_sends("open", limit=10))
    assert attempts == [0] * (len(clients) - 1) + [1]  # ... nor was any other X target tried


def test_a_crm_outage_holds_the_records_back_not_the_deliveries(world: World) -> None:
    clients = vk_contacts(world, 5, "outage")
    world.crm_box.faults.http_error(500, operation="create", times=None)
    sender = world.sender()
    with workers(sender, sweep_seconds=0.2):  # a held send is tried again 0.2 s later
        for n, (record, _) in enumerate(clients):
            sender.enqueue(SendRequest(record, f"outage {n}"))
        assert wait_for(lambda: all(world.vk_box.delivered_to(uid) for _, uid in clients), timeout=30)
        assert world.messages() == []
        world.crm_box.faults.clear()
        assert wait_for(lambda: world.store.outbox.depth() == 0, timeout=30)
    texts = records_by_text(world)
    assert sorted(texts) == sorted(f"outage {n}" for n in range(len(clients)))
    assert all(len(recs) == 1 for recs in texts.values())
    assert all(len(world.vk_box.delivered_to(uid)) == 1 for _, uid in clients)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_transient_failure_is_tried_again_when_its_time_comes(world: World) -> None:
    ((record, uid),) = vk_contacts(world, 1, "retry")
    clock = Clock()
    sender = world.sender(now=clock)
    world.vk_box.fail_next(10, method="messages.send", times=5)  # beyond the in-call retries
    with workers(sender) as pump:
        sender.enqueue(SendRequest(record, "retry me"))
        assert wait_for(lambda: world.vk_box.count("messages.send") == 4, timeout=30)
        assert pump.drain(timeout=30)
        (send,) = world.store.outbox.list_sends("open", limit=5)
        assert send.target("vk").next_attempt_at is not None
        assert world.vk_box.delivered_to(uid) == []
        clock.now = send.target("vk").next_attempt_at + dt.timedelta(seconds=1)
        pump.wake()  # the lane's own timer runs on the real clock; this one was moved by hand
        assert wait_for(lambda: world.store.outbox.depth() == 0, timeout=30)
    assert len(world.vk_box.delivered_to(uid)) == 1
    assert len(world.messages()) == 1
