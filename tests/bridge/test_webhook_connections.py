"""Clients that hold connections without finishing a request cannot starve signed calls or /healthz
(bridge/webhook/server.py): real sockets against the real server, deadlines generous for a loaded box."""

from __future__ import annotations

import json
import resource
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from bridge.webhook.endpoint import EVENTS_PATH, make_app
from bridge.webhook.server import MAX_CONNECTIONS, MAX_PER_CLIENT, WebhookServer
from bridge.webhook.signing import sign
from tests.bridge.test_webhook_support import NOW, SECRET, Recorder, event
from tests.bridge.webhook_clients import (
    LOOPBACKS,
    Dripper,
    close_all,
    closed_by_server,
    open_idle,
    still_open,
)
from tests.daemon.helpers import wait_for

DEADLINE = 10.0  # seconds for an answer: far above the milliseconds it takes, far below waitress's 120 s


def _app(recorder: Recorder, gate: threading.Event | None = None) -> object:
    def health() -> tuple[int, dict[str, str]]:
        if gate is not None:
            gate.wait(30)  # a request in progress for as long as the test wants
        return 200, {"status": "ok"}

    return make_app(
        secret=SECRET, accept=recorder, health=health, metrics=lambda: (b"", "text/plain"), clock=lambda: NOW
    )


@pytest.fixture(autouse=True, scope="module")
def enough_descriptors() -> None:
    """Client and server sockets share this process: make room for a few hundred of each."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _signed(url: str, event_id: str) -> requests.Response:
    body = json.dumps(event(event_id=event_id)).encode()
    headers = sign(SECRET, body, NOW) | {"Content-Type": "application/json", "Connection": "close"}
    return requests.post(url + EVENTS_PATH, data=body, headers=headers, timeout=DEADLINE)


def _served(url: str, event_id: str) -> None:
    assert _signed(url, event_id).status_code == 202
    health = requests.get(url + "/healthz", headers={"Connection": "close"}, timeout=DEADLINE)
    assert health.status_code == 200


@pytest.fixture
def server(recorder: Recorder) -> Iterator[WebhookServer]:
    with WebhookServer(_app(recorder)) as running:  # the daemon's bounds and timeout
        yield running


def test_idle_and_dripping_connections_from_one_address_do_not_starve_signed_calls(
    server: WebhookServer, recorder: Recorder
) -> None:
    # Twice waitress's old limit of 100 sockets, plus slow drippers, all from the vtiger host's address
    # (loopback), opened before the genuine calls.
    idle = open_idle("127.0.0.1", server.port, 200)
    drip = open_idle("127.0.0.1", server.port, 30)
    try:
        with Dripper(drip):
            for n in range(3):
                _served(server.url, f"starved-{n}")
                more = open_idle("127.0.0.1", server.port, 30)  # and they keep coming
                idle += more
    finally:
        close_all(idle + drip)
    assert [e.event_id for e in recorder.events] == ["starved-0", "starved-1", "starved-2"]


def test_idle_connections_from_many_addresses_do_not_starve_signed_calls(
    server: WebhookServer, recorder: Recorder
) -> None:
    per_address = MAX_PER_CLIENT - 2  # under the per-client bound, and together over the total
    assert per_address * (len(LOOPBACKS) - 1) > MAX_CONNECTIONS
    assert per_address < MAX_PER_CLIENT
    idle = [s for source in LOOPBACKS[1:] for s in open_idle("127.0.0.1", server.port, per_address, source)]
    try:
        _served(server.url, "many-addresses")
        # The total bound holds: the oldest idle ones were closed to make room.
        assert wait_for(lambda: sum(still_open(s) for s in idle) <= MAX_CONNECTIONS, timeout=DEADLINE)
    finally:
        close_all(idle)
    assert len(recorder.events) == 1


def test_the_per_client_bound_closes_the_oldest_idle_connections(recorder: Recorder) -> None:
    with WebhookServer(_app(recorder), max_per_client=5, request_timeout=60) as small:
        socks = open_idle("127.0.0.1", small.port, 8)
        try:
            assert all(closed_by_server(s, DEADLINE) for s in socks[:3])
            assert all(still_open(s) for s in socks[3:])
            other = open_idle("127.0.0.1", small.port, 2, source="127.0.0.2")  # another client: unaffected
            assert all(still_open(s) for s in socks[3:] + other)
            close_all(other)
        finally:
            close_all(socks)


def test_a_dripping_request_is_cut_at_the_deadline_however_active(recorder: Recorder) -> None:
    with WebhookServer(_app(recorder), request_timeout=1.0) as quick:
        drip = open_idle("127.0.0.1", quick.port, 3)
        try:
            with Dripper(drip, every=0.1):  # a byte every 0.1 s: never idle, never finished
                assert wait_for(
                    lambda: len(drip) == 3 and all(closed_by_server(s, 0.3) for s in drip), timeout=DEADLINE
                )
        finally:
            close_all(drip)
        _served(quick.url, "after-drip")


def test_an_idle_keep_alive_connection_is_closed_after_the_deadline(recorder: Recorder) -> None:
    with WebhookServer(_app(recorder), request_timeout=1.0) as quick:
        sock = socket.create_connection(("127.0.0.1", quick.port), timeout=DEADLINE)
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            assert closed_by_server(sock, DEADLINE)  # the answered connection, then idle, is closed too
        finally:
            sock.close()


def test_a_request_in_progress_is_never_closed_to_make_room(recorder: Recorder) -> None:
    gate = threading.Event()
    with WebhookServer(_app(recorder, gate), max_per_client=3, request_timeout=1.0) as small:
        answer: list[int] = []
        slow = threading.Thread(
            target=lambda: answer.append(requests.get(small.url + "/healthz", timeout=30).status_code),
            daemon=True,
        )
        slow.start()
        idle: list[socket.socket] = []
        try:
            assert wait_for(lambda: bool(small.guard.busy()), timeout=DEADLINE)
            idle = open_idle("127.0.0.1", small.port, 6)  # over the bound while the probe is served
            # The bound closes four of them at once, the deadline the last two a second later: by then the
            # request in progress has outlived both.
            assert wait_for(lambda: all(closed_by_server(s, 0.2) for s in idle), timeout=DEADLINE)
            assert slow.is_alive() and small.guard.busy() == 1
        finally:
            gate.set()
            slow.join(30)
            close_all(idle)
        assert answer == [200]
