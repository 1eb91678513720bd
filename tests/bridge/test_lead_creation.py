"""Leads for unknown senders are created one at a time, whichever network's import asks: on a real
SalesPlatform, creates that overlap wait on one row lock and hand out the same lead_no twice. The vtiger
sandbox here has that server's timing and lock (sandbox/vtiger/latency.py), slowed down so that two import
runs reach their Lead creates together."""

from __future__ import annotations

import threading

import pytest

from sandbox.vtiger import LatencyModel
from tests.bridge.conftest import World

SLOW = LatencyModel(scale=4)  # every request four times as long: overlaps are wide


@pytest.mark.parametrize("vtiger_model", [SLOW])
def test_two_networks_never_create_leads_at_once(world: World) -> None:
    vk = world.importer(unknown_sender="create_lead")
    x = world.importer(unknown_sender="create_lead")
    vk.run("vk")
    x.run("x")  # cursors established: only what arrives now is imported
    for n in range(4):
        world.vk_box.incoming(world.vk_box.add_user("Vk", f"Stranger{n}"), "здравствуйте")
        world.x_box.incoming_dm(world.x_box.add_user(f"x_stranger_{n}", f"X Stranger{n}"), "hello")
    reports = {}
    start = threading.Barrier(2)

    def run(importer: object, network: str) -> None:
        start.wait()
        reports[network] = importer.run(network)  # type: ignore[attr-defined]

    threads = [threading.Thread(target=run, args=(vk, "vk")), threading.Thread(target=run, args=(x, "x"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert reports["vk"].leads_created == reports["x"].leads_created == 4
    leads = world.crm_box.records("Leads")
    assert len(leads) == 8 and len({lead["lead_no"] for lead in leads}) == 8
    assert world.crm_box.max_creates_in_flight["Leads"] == 1  # never two Lead creates in vtiger at once
    assert world.crm_box.duplicates["Leads"] == 0
    assert len(world.messages()) == 8


def test_a_second_message_from_the_same_stranger_finds_the_lead(world: World) -> None:
    importer = world.importer(unknown_sender="create_lead")
    importer.run("vk")
    stranger = world.vk_box.add_user("Same", "Stranger")
    world.vk_box.incoming(stranger, "first")
    world.vk_box.incoming(stranger, "second")
    report = importer.run("vk")
    assert report.leads_created == 1 and report.created == 2
    (lead,) = world.crm_box.records("Leads")
    assert all(lead["id"] in world.crm_box.related(m["id"]) for m in world.messages())
