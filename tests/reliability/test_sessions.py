"""Session loss mid-run and login races: no operation fails because of them.

- The daemon runs sends while every vtiger session is dropped (PHP session GC) right before a `create`,
  a `retrieve` and an `add_related` (the three requests of a send): each call is renewed and retried, no
  job fails, nothing doubles.
- Threads sharing one client after the sessions vanished: one re-login serves them all.
- Separate clients (the daemon and a CLI command, say) logging in at the same moment: vtiger replaces
  the user's challenge token on every `getchallenge`, so one of them logs in with a dead token; the client
  repeats the challenge round after a jittered pause and every one gets a session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import requests

from tests.reliability.helpers import (
    Boxes,
    Client,
    Daemon,
    add_clients,
    problems,
    send_event,
    state_rows,
    wait_for,
    write_config,
)
from vtiger_ws import VtigerClient

THREADS = 8
ROUNDS = 5


def test_sessions_expiring_mid_run_fail_no_operation(boxes: Boxes, tmp_path: Path) -> None:
    clients = add_clients(boxes, 6, "sess")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    sends: list[tuple[Client, str]] = []
    with Daemon(config) as daemon:
        url = daemon.url
        assert url is not None
        logins = boxes.crm.count("login")
        for n, client in enumerate(clients):
            boxes.crm.expire_sessions(on_next=("create", "retrieve", "add_related")[n % 3])
            sends.append((client, f"session send {n}"))
            assert send_event(url, client, f"sess-{n}", sends[-1][1]) == 202
            done = f"SELECT COUNT(*) FROM outbox WHERE done_at IS NOT NULL AND event_id = 'sess-{n}'"
            assert wait_for(lambda done=done: state_rows(state, done)[0][0] == 1), n
        boxes.crm.expire_sessions()  # and once between two calls
        health = requests.get(f"{url}/healthz", timeout=5).json()
        assert daemon.terminate() == 0
    assert boxes.crm.count("login") - logins >= len(clients)  # every loss was noticed and renewed
    assert health["components"]["vtiger"]["state"] == "ok"
    assert "failed_jobs" not in health, health
    assert [line for line in daemon.lines if " WARNING " in line or " ERROR " in line] == []
    assert problems(boxes, state, sends) == []


def _race(workers: list[Callable[[], object]]) -> list[BaseException]:
    """Run the callables at the same moment on their own threads; the exceptions they raised."""
    barrier = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        barrier.wait(timeout=10)
        try:
            work()
        except Exception as exc:  # collected: the assertion names them all
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_threads_sharing_a_client_renew_a_lost_session_once(boxes: Boxes) -> None:
    (client,) = add_clients(boxes, 1, "shared")
    with VtigerClient(boxes.crm.url, boxes.crm.username, boxes.crm.access_key) as vtiger:
        vtiger.login()
        for _ in range(ROUNDS):
            boxes.crm.expire_sessions()
            logins = boxes.crm.count("login")
            errors = _race([lambda: vtiger.retrieve(client.record)] * THREADS)
            assert errors == []
            assert boxes.crm.count("login") - logins == 1


def test_clients_logging_in_at_once_all_get_a_session(boxes: Boxes) -> None:
    (client,) = add_clients(boxes, 1, "race")
    crm = boxes.crm
    vtigers = [VtigerClient(crm.url, crm.username, crm.access_key) for _ in range(THREADS)]
    try:
        failures: list[BaseException] = []
        for _ in range(ROUNDS):
            crm.expire_sessions()
            failures += _race([lambda v=v: v.retrieve(client.record) for v in vtigers])
    finally:
        for vtiger in vtigers:
            vtiger.close()
    assert failures == []
