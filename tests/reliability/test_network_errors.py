"""Every network failure the providers know, injected into the real daemon's sends one at a time.

Each ends in its documented state — delivered after an in-call retry (VK 6, 10), parked for a later
attempt (VK 9, 14, 5; X 429 until its reset; dropped connections, before or after the network acted;
X's 503 after delivery in its own test, `test_an_x_send_answered_503_after_delivery_is_not_sent_twice`),
or `Not sent` with the reason (VK 901) — while the webhook keeps answering. Then the parked sends' wait is
skipped (the clock the daemon would wait on is the state file's `next_attempt_at`) and a restarted daemon
delivers each of them exactly once, recording one CRM message per send.
VK's and X's own 10 s request timeouts are not configurable, so timeouts are exercised on vtiger only
(test_crm_outage); a dropped connection is the same failure reached without the wait.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import requests

from providers.errors import NotAllowedReason
from sandbox._http import DROP, Request, Response
from sandbox.x_model import generic_problem, problem
from tests.reliability.helpers import (
    Boxes,
    Client,
    Daemon,
    add_clients,
    nudge,
    open_sends,
    problems,
    send_event,
    state_rows,
    wait_for,
    write_config,
)

PARKED = "pending"


def _vk(code: int, times: int = 1) -> Callable[[Boxes], None]:
    return lambda boxes: boxes.vk.fail_next(code, method="messages.send", times=times)


def _done_then_dropped(box_attr: str, operation: str) -> Callable[[Boxes], None]:
    def install(boxes: Boxes) -> None:
        box = getattr(boxes, box_attr)

        def work_then_drop(request: Request) -> Response:
            box.handle(request)
            return cast(Response, DROP)

        box.faults.custom(work_then_drop, operation=operation)

    return install


def _x_429(boxes: Boxes) -> None:
    reset = str(int(time.time()) + 90)
    headers = {"x-rate-limit-limit": "15", "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
    answer = problem(429, generic_problem(429, "Too Many Requests"), headers)
    boxes.x.faults.custom(lambda _request: answer, operation="dm_create")


# name -> (fault, {network: (state, error code, least delay before the next attempt in seconds)})
Expect = dict[str, tuple[str, str | None, float]]
SCENARIOS: list[tuple[str, Callable[[Boxes], None], Expect]] = [
    ("vk-6", _vk(6), {"vk": ("sent", None, 0)}),
    ("vk-10-twice", _vk(10, 2), {"vk": ("sent", None, 0)}),
    ("vk-9", _vk(9), {"vk": (PARKED, "ProviderRateLimited", 590)}),
    ("vk-14", _vk(14), {"vk": (PARKED, "ProviderCaptchaRequired", 25)}),
    ("vk-5", _vk(5), {"vk": (PARKED, "ProviderAuthError", 25)}),
    ("vk-901", _vk(901), {"vk": ("failed", str(NotAllowedReason.NOT_OPTED_IN), 0)}),
    (
        "vk-dropped",
        lambda b: b.vk.faults.drop(operation="messages.send"),
        {"vk": (PARKED, "ProviderUnavailable", 25)},
    ),
    (
        "vk-sent-then-dropped",
        _done_then_dropped("vk", "messages.send"),
        {"vk": (PARKED, "ProviderUnavailable", 25)},
    ),
    (
        "x-dropped",
        lambda b: b.x.faults.drop(operation="dm_create"),
        {"x": (PARKED, "ProviderUnavailable", 25)},
    ),
    # Last: the 429 pauses every X call of this daemon until the reset.
    ("x-429", _x_429, {"x": (PARKED, "ProviderRateLimited", 80)}),
]


def targets(state: Path, event_id: str) -> dict[str, sqlite3.Row]:
    rows = state_rows(
        state,
        "SELECT t.* FROM outbox AS o JOIN outbox_target AS t ON t.outbox_id = o.id WHERE o.event_id = ?",
        (event_id,),
    )
    return {row["network"]: row for row in rows}


def settled_targets(state: Path, event_id: str) -> bool:
    rows = targets(state, event_id)
    return len(rows) == 2 and all(
        r["state"] in ("sent", "failed") or (r["state"] == PARKED and r["attempts"] > 0)
        for r in rows.values()
    )


def test_network_errors_end_in_their_documented_states(boxes: Boxes, tmp_path: Path) -> None:
    # Imports run meanwhile: a delivered-but-unconfirmed message they record first is adopted by the send.
    clients = add_clients(boxes, len(SCENARIOS), "net")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    sends: dict[str, tuple[Client, str]] = {}
    with Daemon(config) as daemon:
        url = daemon.url
        assert url is not None
        for (name, install, expect), client in zip(SCENARIOS, clients, strict=True):
            install(boxes)
            sends[name] = (client, f"{name}: hello")
            assert send_event(url, client, name, sends[name][1]) == 202
            nudge(url, client, f"{name}-ping")  # the webhook answers while the send is in trouble
            assert requests.get(f"{url}/healthz", timeout=5).json()["components"]
            assert wait_for(lambda name=name: settled_targets(state, name), timeout=30), name
            now = dt.datetime.now(dt.UTC)
            rows = targets(state, name)
            for network, row in rows.items():
                want_state, want_code, least_delay = expect.get(network, ("sent", None, 0))
                assert (row["state"], row["error_code"]) == (want_state, want_code), (
                    name,
                    network,
                    dict(row),
                )
                if want_state == PARKED:
                    due = dt.datetime.fromisoformat(row["next_attempt_at"].replace("Z", "+00:00"))
                    assert due - now >= dt.timedelta(seconds=least_delay), (name, network, due)
                    assert row["error_text"], (name, network)
        assert daemon.terminate() == 0

    # VK 901 is final: one record saying `Not sent` for VK and `Sent` for X, and a comment saying why.
    client_901, text_901 = sends.pop("vk-901")
    (record,) = [r for r in boxes.crm.records("SPSocialConnector") if r["message"] == text_901]
    assert (record["vk_status"], record["tw_status"]) == ("Not sent", "Sent")
    assert boxes.vk.delivered_to(client_901.vk_uid) == []
    comments = [c for c in boxes.crm.records("ModComments") if c["related_to"] == client_901.record]
    assert len(comments) == 1 and "ВКонтакте" in comments[0]["commentcontent"]  # the sandbox CRM is ru_ru

    # The parked sends' time comes; a fresh daemon (the 429's pause lived in the old one) delivers them.
    _skip_waits(state)
    for box in boxes.all:
        box.faults.clear()
    with Daemon(config) as daemon:
        assert wait_for(lambda: open_sends(state) == 0, timeout=15)
        assert daemon.terminate() == 0
    assert problems(boxes, state, list(sends.values())) == []


def test_an_x_send_answered_503_after_delivery_is_not_sent_twice(boxes: Boxes, tmp_path: Path) -> None:
    (client,) = add_clients(boxes, 1, "x503")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    boxes.x.fail_after_delivery()
    with Daemon(config) as daemon:
        assert daemon.url is not None
        assert send_event(daemon.url, client, "x503", "x503: hello") == 202
        assert wait_for(lambda: settled_targets(state, "x503"))
        assert targets(state, "x503")["x"]["error_code"] == "ProviderUnavailable"
        assert daemon.terminate() == 0
    _skip_waits(state)
    with Daemon(config) as daemon:
        assert wait_for(lambda: open_sends(state) == 0)
        assert daemon.terminate() == 0
    assert len(boxes.x.delivered_to(client.x_uid)) == 1


def _skip_waits(state: Path) -> None:
    """The parked targets' time has come (what waiting out `next_attempt_at` would do)."""
    conn = sqlite3.connect(state)
    try:
        with conn:
            conn.execute("UPDATE outbox_target SET next_attempt_at = NULL WHERE state = 'pending'")
    finally:
        conn.close()
