"""A lost state file (deleted, or replaced by a new one): nothing vanishes, nothing is recorded twice.

The README's backup section promises it: sends use keys no other state file repeats, and the import finds
in the CRM what the lost file knew and adopts it into the new ledger.
"""

from __future__ import annotations

from pathlib import Path

from bridge.cli.main import main
from tests.reliability.helpers import (
    Boxes,
    add_clients,
    open_sends,
    problems,
    send_event,
    started_daemon,
    state_rows,
    wait_for,
    write_config,
)


def lose(state: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)


def done(state: Path) -> bool:
    """The daemon's one send is queued and finished."""
    return [r[0] is not None for r in state_rows(state, "SELECT done_at FROM outbox")] == [True]


def test_deleting_the_state_file_between_two_sends_loses_neither(boxes: Boxes, tmp_path: Path) -> None:
    anna, boris = add_clients(boxes, 2, "lost")
    config, state = write_config(tmp_path, boxes), tmp_path / "state.sqlite3"
    sends = [(anna, "for Anna"), (boris, "for Boris")]
    for n, (client, text) in enumerate(sends):
        with started_daemon(config, state) as daemon:
            assert daemon.url is not None
            assert send_event(daemon.url, client, f"lost-{n}", text) == 202
            assert wait_for(lambda: done(state)), daemon.log
            assert daemon.terminate() == 0
        if n == 0:
            lose(state)  # the next daemon starts on a new, empty state file: outbox ids begin at 1 again
    assert [m["text"] for m in boxes.vk.delivered_to(boris.vk_uid)] == ["for Boris"]
    assert problems(boxes, state, sends) == []  # each delivered once, one record each, linked to its client


def test_import_messages_after_the_state_file_is_lost_adopts_what_the_crm_holds(
    boxes: Boxes, tmp_path: Path
) -> None:
    (client,) = add_clients(boxes, 1, "imp")
    config, state = str(write_config(tmp_path, boxes)), tmp_path / "state.sqlite3"
    before = [boxes.vk.incoming(client.vk_uid, f"before {n}") for n in range(3)]
    assert main(["-c", config, "import-messages"]) == 0
    lose(state)
    after = boxes.vk.incoming(client.vk_uid, "after")

    assert main(["-c", config, "import-messages"]) == 0  # was: exit 3, "vk message 1 was never reserved"
    assert main(["-c", config, "import-messages"]) == 0
    records = boxes.crm.records("SPSocialConnector")
    assert sorted(int(r["vk_message_id"]) for r in records) == sorted([*before, after])
    assert all(boxes.crm.related(r["id"]) == [client.record] for r in records)
    assert state_rows(state, "SELECT cursor FROM import_cursor WHERE network = 'vk'")[0][0] == str(after)
    assert open_sends(state) == 0
