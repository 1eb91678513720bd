"""The real daemon with imports on: a send and an import that meet on one message make one CRM record.

The meeting is arranged exactly with the sandboxes' `hold` knobs (no sleeps): a network's answer to the
send (or the send's look for a message it may have delivered) is kept waiting until the import has read
the send's message in that network's history, which is when a second record used to appear. The import
leaves it to the send; tests/bridge/test_one_writer.py covers the import that records first.
"""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

from tests.reliability.helpers import (
    Boxes,
    Daemon,
    Tripwire,
    add_clients,
    open_sends,
    problems,
    send_event,
    started_daemon,
    wait_for,
    write_config,
)


def left_to_the_send(daemon: Daemon, network: str) -> bool:
    """The daemon's `network` import found a message a send may still be recording and left it (the line
    `bridge.services.importing` logs when a run does not pass its window)."""
    lines = list(daemon.lines)
    return any(f"{network} import: " in line and "window is read again" in line for line in lines)


def test_a_send_and_the_scheduled_import_meeting_on_one_message_make_one_record(
    boxes: Boxes, tmp_path: Path
) -> None:
    (client,) = add_clients(boxes, 1, "meet")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    vk_answer = threading.Event()
    with started_daemon(config, state) as daemon:
        assert daemon.url is not None
        creates = boxes.crm.count("create")
        # VK delivers but its answer waits; the import that runs every 0.6 s reads the message meanwhile.
        boxes.vk.faults.hold(vk_answer, operation="messages.send", after=True, timeout=30)
        assert send_event(daemon.url, client, "meet-1", "met once") == 202
        assert wait_for(lambda: left_to_the_send(daemon, "vk"), timeout=20), daemon.log
        vk_answer.set()
        assert wait_for(lambda: open_sends(state) == 0, timeout=15)
        assert daemon.terminate() == 0
    assert boxes.crm.count("create") == creates + 1  # the send's record, none by the import
    assert problems(boxes, state, [(client, "met once")]) == []


def test_kill_after_x_accepted_then_the_startup_import_leaves_the_dm_to_the_send(
    boxes: Boxes, tmp_path: Path
) -> None:
    tripwire = Tripwire(boxes)
    (client,) = add_clients(boxes, 1, "killx")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    daemon = started_daemon(config, state)
    try:
        assert daemon.url is not None
        # X delivered the DM, the daemon never hears (whichever network's lane went first).
        fired = tripwire.arm(daemon.pid, 1, after=True, ops={"x:dm_create"})
        assert send_event(daemon.url, client, "killx-1", "killed after X") == 202
        assert fired.wait(10)
        daemon.kill()
        # The restart's send first asks X whether the DM went out; that answer waits until the start-up
        # import has found the DM in X's events, with the send's X target still `sending`.
        lookup = threading.Event()
        boxes.x.faults.hold(lookup, operation="dm_conversation_events", timeout=30)
        creates = boxes.crm.count("create")
        daemon = Daemon(config)
        assert wait_for(lambda: left_to_the_send(daemon, "x"), timeout=20), daemon.log
        lookup.set()
        assert wait_for(lambda: open_sends(state) == 0, timeout=15)
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    assert boxes.crm.count("create") == creates + 1  # the send's record, none by the import
    assert problems(boxes, state, [(client, "killed after X")]) == []


def test_a_send_whose_vk_and_x_messages_each_meet_their_import_makes_one_record(
    boxes: Boxes, tmp_path: Path
) -> None:
    # What made test_crash.py's kill after x:dm_create give two records one run in fifty: the VK import
    # and the X import each read the send's message on their network before the send knew its id. The
    # ledger is per network message, so each would record "its" message, one record per network.
    (client,) = add_clients(boxes, 1, "both")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    answers = {"vk": threading.Event(), "x": threading.Event()}

    def waiting() -> str | None:
        """The network whose answer is kept back now (the lanes take turns, either may go first)."""
        sent = {"vk": boxes.vk.delivered_to(client.vk_uid), "x": boxes.x.delivered_to(client.x_uid)}
        return next((n for n, answer in answers.items() if sent[n] and not answer.is_set()), None)

    def read_by_import(daemon: Daemon, network: str) -> bool:
        """The network's import (every 0.6 s) has read the message, and left it or recorded it."""
        return left_to_the_send(daemon, network) or f"{network}: imported 1" in daemon.log

    with started_daemon(config, state) as daemon:
        assert daemon.url is not None
        boxes.vk.faults.hold(answers["vk"], operation="messages.send", after=True, timeout=30)
        boxes.x.faults.hold(answers["x"], operation="dm_create", after=True, timeout=30)
        assert send_event(daemon.url, client, "both-1", "one send, two imports") == 202
        for _ in answers:
            assert wait_for(lambda: waiting() is not None, timeout=20), daemon.log
            network = waiting()
            assert network is not None
            assert wait_for(partial(read_by_import, daemon, network), timeout=20), daemon.log
            answers[network].set()
        assert wait_for(lambda: open_sends(state) == 0, timeout=15)
        assert daemon.terminate() == 0
    assert problems(boxes, state, [(client, "one send, two imports")]) == []
