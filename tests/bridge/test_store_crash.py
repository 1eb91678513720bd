"""Crash consistency: a writer SIGKILLed mid-loop leaves a store that opens, with whole rows only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bridge.store import Store, TargetState

ROOT = Path(__file__).resolve().parents[2]

# Each iteration writes several transactions of different shapes; the child prints `i` only after all of
# iteration i committed, so every printed iteration must be complete after the kill.
WRITER = textwrap.dedent(
    """
    import sys
    from bridge.store import IndexRow, SendTarget, Store

    store = Store(sys.argv[1])
    run = sys.argv[2]  # keeps ids of a second run on the same file distinct
    targets = [SendTarget(n, n + "_url", "https://" + n + ".example", None) for n in ("facebook", "vk", "x")]
    i = 0
    while True:
        i += 1
        store.events.remember(f"{run}ev{i}", "send", {"i": i, "text": "Привет " * 50})
        oid = store.outbox.enqueue_send(record_id=f"{run}-12x{i}", module="Contacts", text="Привет " * 50,
                                 targets=targets, event_id=f"{run}ev{i}", requested_by="19x1")
        store.outbox.mark_target_sending(oid, "vk")
        store.outbox.mark_target_sent(oid, "vk", f"{run}m{i}")
        store.outbox.set_send_crm_message_id(oid, f"{run}45x{i}")
        rows = [IndexRow("Contacts", f"{run}-{i}x{k}", "vk_url", "u", "vk", "id", str(k)) for k in range(25)]
        store.url_index.upsert(rows)
        store.events.mark_done(f"{run}ev{i}")
        print(i, flush=True)
    """
)


def _run_and_kill(path: Path, run: str, after: int) -> int:
    """Start the writer, SIGKILL it after `after` acknowledged iterations; return the last acknowledged."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), run], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env
    )
    assert proc.stdout is not None
    acknowledged = 0
    try:
        for line in proc.stdout:
            acknowledged = int(line)
            if acknowledged >= after:
                os.kill(proc.pid, signal.SIGKILL)
                break
        else:
            pytest.fail(f"writer exited early with {proc.wait()}")
        proc.wait(timeout=30)
        # Lines already in the pipe were acknowledged before the kill, too.
        for line in proc.stdout:
            acknowledged = int(line)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    return acknowledged


def _check_consistent(store: Store, run: str, acknowledged: int) -> None:
    db = store._db
    assert db.execute("PRAGMA integrity_check")[0][0] == "ok"
    assert db.execute("PRAGMA foreign_key_check") == []
    sends = store.outbox.list_sends("all", limit=10_000)
    by_record = {s.record_id: s for s in sends}
    assert len(by_record) == len(sends)
    for send in sends:
        assert [t.network for t in send.targets] == ["facebook", "vk", "x"]  # a send is whole or absent
        vk = send.target("vk")
        if vk.state is TargetState.SENT:
            ledger = db.execute(
                "SELECT origin, outbox_id FROM message_ledger WHERE network = 'vk' AND message_id = ?",
                (vk.message_id,),
            )
            assert [tuple(r) for r in ledger] == [("outbox", send.id)]  # sent and ledger in one commit
    # Every acknowledged iteration is complete and durable.
    for i in range(1, acknowledged + 1):
        send = by_record[f"{run}-12x{i}"]
        assert send.crm_message_id == f"{run}45x{i}" and send.target("vk").message_id == f"{run}m{i}"
    # Multi-row transactions are all-or-nothing: each batch has its 25 rows or none.
    counts = db.execute(
        "SELECT substr(record_id, 1, instr(record_id, 'x')) AS b, COUNT(*) FROM url_index GROUP BY b"
    )
    assert {r[1] for r in counts} <= {25}
    assert len(counts) >= acknowledged
    # No event is lost: every event id that produced a send is remembered.
    events = {r[0] for r in db.execute("SELECT event_id FROM webhook_event")}
    assert {s.event_id for s in sends} <= events


@pytest.mark.parametrize("kill_after", [1, 15, 40])
def test_sigkill_mid_loop_leaves_whole_rows_and_a_usable_store(tmp_path: Path, kill_after: int) -> None:
    path = tmp_path / "crash.db"
    acknowledged = _run_and_kill(path, "a", kill_after)
    assert acknowledged >= kill_after
    with Store(path) as store:
        _check_consistent(store, "a", acknowledged)
        # The store keeps working after the crash.
        open_sends = store.outbox.depth()
        assert open_sends >= acknowledged
        assert store.events.remember("after-crash", "send", {}) is True
    # A second crash on the same file, then recovery again.
    again = _run_and_kill(path, "b", 3)
    with Store(path) as store:
        _check_consistent(store, "b", again)
        _check_consistent(store, "a", acknowledged)
