"""The realistic-latency vtiger sandbox: saves cost more as the module grows, creates hold one sequence lock
at a time, and a create that waited for it reuses the auto-number it read before waiting — as measured on a
real SalesPlatform 7.2 (sandbox/vtiger/latency.py). Counts and conditions, never wall-clock timings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import requests
from test_vtiger_helpers import Ws

from sandbox.vtiger import LatencyModel, RealisticVtigerSandbox, VtigerSandbox

FAST = LatencyModel(scale=0.2)  # the measured shape, a fifth of the time


@pytest.fixture
def crm() -> Iterator[RealisticVtigerSandbox]:
    with RealisticVtigerSandbox(model=FAST) as sandbox:
        yield sandbox


def wait_for(condition: object, what: str) -> None:
    event = threading.Event()
    for _ in range(2000):  # up to 20 s under load
        if condition():  # type: ignore[operator]
            return
        event.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def logged_in(crm: VtigerSandbox, http: requests.Session) -> Ws:
    ws = Ws(crm, http)
    ws.login()
    return ws


def create(ws: Ws, module: str, **fields: str) -> dict:
    answer = ws.create(module, json.dumps({"assigned_user_id": "19x1", **fields}))
    assert answer["success"] is True, answer
    return answer["result"]


def test_saves_cost_more_as_the_module_grows() -> None:
    model = LatencyModel()
    assert [round(model.save_ms("Contacts", n)) for n in (0, 2000, 4000, 6000)] == [28, 41, 54, 67]
    assert [round(model.save_ms("SPSocialConnector", n)) for n in (0, 3000)] == [17, 25]
    assert model.reads["add_related"] < model.save_ms("SPSocialConnector", 0) < model.save_ms("Contacts", 0)


def test_rows_count_every_record_of_the_module_deleted_or_not(crm: RealisticVtigerSandbox) -> None:
    ids = [crm.seed("Contacts", {"lastname": f"C{i}"}) for i in range(5)]
    crm.seed("Leads", {"lastname": "L"})
    assert (crm.rows("Contacts"), crm.rows("Leads"), crm.rows("SPSocialConnector")) == (5, 1, 0)
    with requests.Session() as http:
        ws = logged_in(crm, http)
        assert ws.call("POST", "delete", id=ids[0])["success"]
        create(ws, "Contacts", lastname="New")
    assert crm.rows("Contacts") == 6  # MySQL keeps deleted rows: the search-label scan still reads them


def test_concurrent_creates_hold_the_sequence_lock_one_at_a_time(crm: RealisticVtigerSandbox) -> None:
    sessions = [requests.Session() for _ in range(4)]
    callers = [logged_in(crm, http) for http in sessions]
    numbers: list[str] = []

    def client(ws: Ws, n: int) -> None:
        for i in range(5):
            numbers.append(create(ws, "Contacts", lastname=f"T{n}-{i}")["contact_no"])

    threads = [threading.Thread(target=client, args=(ws, n)) for n, ws in enumerate(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for http in sessions:
        http.close()
    assert len(numbers) == 20 and len(crm.records("Contacts")) == 20
    assert crm.max_holding == 1  # never two creates inside the lock
    assert crm.max_creates_in_flight["Contacts"] >= 2  # while others waited for it
    # every number handed out twice was counted as such
    assert len(numbers) - len(set(numbers)) == crm.duplicates["Contacts"]


def test_a_create_that_waited_for_the_lock_gets_the_number_before_it(crm: RealisticVtigerSandbox) -> None:
    crm.gate = threading.Event()  # the create inside the lock commits only when the test says so
    results: dict[str, dict] = {}
    with requests.Session() as first_http, requests.Session() as second_http:
        first, second = logged_in(crm, first_http), logged_in(crm, second_http)
        a = threading.Thread(target=lambda: results.update(a=create(first, "Contacts", lastname="A")))
        a.start()
        wait_for(lambda: crm.holding == 1, "the first create to hold the lock")
        b = threading.Thread(target=lambda: results.update(b=create(second, "Contacts", lastname="B")))
        b.start()
        wait_for(lambda: crm.waiting == 1, "the second create to read its number and wait")
        crm.gate.set()
        a.join()
        b.join()
        assert results["a"]["contact_no"] == results["b"]["contact_no"] == "КОНТАКТ_1"
        assert results["a"]["id"] != results["b"]["id"]  # crmids come from the locked sequence: distinct
        assert crm.duplicates["Contacts"] == 1
        crm.gate = None
        assert create(first, "Contacts", lastname="C")["contact_no"] == "КОНТАКТ_2"  # the counter moved once


def test_without_a_model_the_sandbox_answers_at_once_and_numbers_are_unique() -> None:
    with RealisticVtigerSandbox() as crm, requests.Session() as http:
        ws = logged_in(crm, http)
        numbers = [create(ws, "Contacts", lastname=f"N{i}")["contact_no"] for i in range(3)]
        assert numbers == ["КОНТАКТ_1", "КОНТАКТ_2", "КОНТАКТ_3"] and crm.max_holding == 0
