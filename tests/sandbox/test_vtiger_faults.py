"""Fault knobs of the vtiger sandbox: latency, slow and held operations, HTTP 500, HTML bodies, dropped
connections, failing the next N calls of one operation, and session expiry (on demand and by the PHP
session GC)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
import requests
from test_vtiger_helpers import Ws, crm, error_of, http, ws  # noqa: F401  (fixtures)

from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import wait_for


def test_fail_the_next_n_calls_of_one_operation(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    crm.faults.http_error(operation="query", times=3)
    answers = [
        ws.raw("GET", {"operation": "query", "sessionName": ws.session, "query": "SELECT id FROM Users;"})
        for _ in range(4)
    ]
    assert [(a.status_code, a.text) for a in answers[:3]] == [(500, "")] * 3
    assert answers[3].json()["result"] == [{"id": "19x1"}]
    assert ws.call("GET", "listtypes")["success"] is True  # other operations were never affected
    assert crm.count("query") == 4
    crm.fail("create", "DATABASE_QUERY_ERROR", "Database error while performing requested operation", times=2)
    for _ in range(2):
        answer = ws.create("Leads", json.dumps({"lastname": "x", "assigned_user_id": "19x1"}))
        assert error_of(answer)[0] == "DATABASE_QUERY_ERROR"
    assert ws.create("Leads", json.dumps({"lastname": "x", "assigned_user_id": "19x1"}))["success"] is True
    assert len(crm.records("Leads")) == 1


def test_html_body_and_dropped_connection(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    crm.faults.html(operation="create")
    answer = ws.raw(
        "POST",
        {
            "operation": "create",
            "sessionName": ws.session,
            "elementType": "Leads",
            "element": json.dumps({"lastname": "x", "assigned_user_id": "19x1"}),
        },
    )
    assert answer.status_code == 200 and answer.text.startswith("<html>")
    crm.faults.drop(operation="retrieve")
    with pytest.raises(requests.ConnectionError):
        ws.raw("GET", {"operation": "retrieve", "sessionName": ws.session, "id": "19x1"})
    assert ws.call("GET", "retrieve", id="19x1")["result"]["id"] == "19x1"


def test_work_done_but_no_json_answer(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    crm.workflow_error("create")
    answer = ws.raw(
        "POST",
        {
            "operation": "create",
            "sessionName": ws.session,
            "elementType": "Leads",
            "element": json.dumps({"lastname": "Saved", "assigned_user_id": "19x1"}),
        },
    )
    assert answer.status_code == 200 and "problem with workflow" in answer.text
    assert [r["lastname"] for r in crm.records("Leads")] == ["Saved"]
    crm.drop_after("revise")
    lead = crm.records("Leads")[0]["id"]
    with pytest.raises(requests.ConnectionError):
        ws.raw(
            "POST",
            {
                "operation": "revise",
                "sessionName": ws.session,
                "element": json.dumps({"id": lead, "lastname": "Revised"}),
            },
        )
    assert crm.get(lead)["lastname"] == "Revised"


def test_latency_is_added_before_every_answer(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    crm.faults.latency = 0.05
    started = time.perf_counter()
    assert ws.call("GET", "listtypes")["success"] is True
    assert time.perf_counter() - started >= 0.05
    crm.faults.clear()


def test_slow_and_held_operations_leave_the_others_served(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    crm.faults.slow(0.05, operation="listtypes", times=1)
    started = time.perf_counter()
    assert ws.call("GET", "listtypes")["success"] is True
    assert time.perf_counter() - started >= 0.05
    gate = threading.Event()
    crm.faults.hold(gate, operation="create", after=True)  # the record is made, the answer waits
    answers: list[dict[str, object]] = []
    lead = json.dumps({"lastname": "Held", "assigned_user_id": "19x1"})
    waiting = threading.Thread(target=lambda: answers.append(ws.create("Leads", lead)))
    waiting.start()
    assert wait_for(lambda: len(crm.records("Leads")) == 1)
    assert ws.call("GET", "retrieve", id="19x1")["success"] is True and answers == []  # others go on
    gate.set()
    waiting.join(10)
    assert answers[0]["success"] is True
    assert ws.create("Leads", json.dumps({"lastname": "Free", "assigned_user_id": "19x1"}))["success"] is True


def test_expire_sessions_now(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    crm.expire_sessions()
    assert error_of(ws.call("GET", "listtypes")) == (
        "INVALID_SESSIONID",
        "Session Identifier provided is Invalid",
    )
    # a client that keeps attaching the stale id cannot even get a challenge
    stale = ws.raw("GET", {"operation": "getchallenge", "username": "admin", "sessionName": ws.session})
    assert stale.json()["error"]["code"] == "INVALID_SESSIONID"
    ws.login()
    assert ws.call("GET", "listtypes")["success"] is True


def test_expire_sessions_on_the_next_call_of_an_operation(ws: Ws, crm: VtigerSandbox) -> None:  # noqa: F811
    crm.expire_sessions(on_next="query")
    assert ws.call("GET", "listtypes")["success"] is True
    assert error_of(ws.query("SELECT id FROM Users;"))[0] == "INVALID_SESSIONID"
    ws.login()
    assert ws.query("SELECT id FROM Users;")["result"] == [{"id": "19x1"}]


def test_idle_sessions_are_garbage_collected(crm: VtigerSandbox, http: requests.Session) -> None:  # noqa: F811
    crm.set_time(crm.clock())
    caller = Ws(crm, http)
    caller.login()
    crm.advance(1400)
    assert caller.call("GET", "listtypes")["success"] is True  # use touches the session
    crm.advance(1441)
    assert error_of(caller.call("GET", "listtypes"))[0] == "INVALID_SESSIONID"


def test_module_entry_point_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.vtiger", "--access-key", "cliKey"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(" at ")[1].strip()
        assert "access key: cliKey" in process.stdout.readline()
        with requests.Session() as session:
            answer = session.get(url, params={"operation": "getchallenge", "username": "admin"}, timeout=10)
        assert answer.json()["success"] is True
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
