"""The real daemon with imports on: a send and an import that meet on one message make one CRM record.

The meeting is arranged exactly with the sandboxes' `hold` knobs (no sleeps): the import's CRM create is
kept waiting while the send comes to record the same message, which is when a second record used to appear.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

from bridge.store.db import require_time
from tests.reliability.helpers import (
    Boxes,
    Daemon,
    Tripwire,
    add_clients,
    open_sends,
    problems,
    send_event,
    started_daemon,
    state_rows,
    wait_for,
    write_config,
)


def passed_over(state: Path, event_id: str) -> bool:
    """The send's networks are done, yet the outbox's CRM worker set it aside without a CRM record (an
    import holds its message): its lease is a short hold until the next look, not a worker's claim."""
    rows = state_rows(
        state,
        "SELECT o.lease_until, o.crm_message_id, t.state FROM outbox AS o"
        " JOIN outbox_target AS t ON t.outbox_id = o.id WHERE o.event_id = ?",
        (event_id,),
    )
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)  # a claim lasts 300 s, a hold 0.2 s here
    return bool(rows) and all(
        r["state"] == "sent" and r["crm_message_id"] is None
        and (r["lease_until"] is None or require_time(r["lease_until"]) < soon)
        for r in rows
    )


def meet(boxes: Boxes, state: Path, event_id: str, creates: int, send_goes_on: threading.Event,
         import_create: threading.Event, log: Callable[[], str]) -> None:
    """The import's create has started (and waits); let the send come to record the same message, then
    let the import finish, and wait until the send is done."""
    assert wait_for(lambda: boxes.crm.count("create") == creates + 1, timeout=15), log()
    send_goes_on.set()
    # Before one writer per message, the send created a second record here.
    assert wait_for(
        lambda: boxes.crm.count("create") > creates + 1 or passed_over(state, event_id), timeout=15
    )
    import_create.set()
    assert wait_for(lambda: open_sends(state) == 0, timeout=15)


def test_a_send_and_the_scheduled_import_meeting_on_one_message_make_one_record(
    boxes: Boxes, tmp_path: Path
) -> None:
    (client,) = add_clients(boxes, 1, "meet")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    vk_answer, import_create = threading.Event(), threading.Event()
    with started_daemon(config, state) as daemon:
        assert daemon.url is not None
        creates = boxes.crm.count("create")
        # VK delivers but its answer waits; the import that runs every 0.6 s sees the message meanwhile
        # and its CRM create (the first one now) is slow.
        boxes.vk.faults.hold(vk_answer, operation="messages.send", after=True, timeout=8)
        boxes.crm.faults.hold(import_create, operation="create", timeout=30)
        assert send_event(daemon.url, client, "meet-1", "met once") == 202
        meet(boxes, state, "meet-1", creates, vk_answer, import_create, lambda: daemon.log)
        assert daemon.terminate() == 0
    assert problems(boxes, state, [(client, "met once")]) == []


def test_kill_after_x_accepted_then_the_startup_import_records_first_and_the_send_adopts(
    boxes: Boxes, tmp_path: Path
) -> None:
    tripwire = Tripwire(boxes)
    (client,) = add_clients(boxes, 1, "killx")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    daemon = started_daemon(config, state)
    try:
        assert daemon.url is not None
        fired = tripwire.arm(daemon.pid, 5, after=True)  # X delivered the DM, the daemon never hears
        assert send_event(daemon.url, client, "killx-1", "killed after X") == 202
        assert fired.wait(10)
        daemon.kill()
        # The restart's send first asks X whether the DM went out; that answer waits until the start-up
        # import has found the DM in X's events and is creating its record.
        lookup, import_create = threading.Event(), threading.Event()
        boxes.x.faults.hold(lookup, operation="dm_conversation_events", timeout=8)
        creates = boxes.crm.count("create")
        boxes.crm.faults.hold(import_create, operation="create", timeout=30)
        daemon = Daemon(config)
        meet(boxes, state, "killx-1", creates, lookup, import_create, lambda: daemon.log)
        assert daemon.terminate() == 0
    finally:
        daemon.close()
    assert problems(boxes, state, [(client, "killed after X")]) == []
