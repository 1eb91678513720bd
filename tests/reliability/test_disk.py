"""The state file's filesystem fills up or is read-only: the bridge refuses work it cannot persist.

A tmpfs of a few MiB is mounted for the state file (CI runs as root; elsewhere the tests skip, saying
why). Full: the webhook answers 503 `store_unavailable` for what it cannot store, never 202, keeps
serving, and takes work again once space is back; every event it did accept is delivered exactly once.
Read-only (a remount while no file is open, as an administrator's mistake would leave it): the daemon
does not accept events and the CLI `send` fails with an error naming the cause; nothing is sent.
"""

from __future__ import annotations

import errno
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.reliability.helpers import (
    ROOT,
    Boxes,
    Daemon,
    add_clients,
    post_event,
    wait_for,
    write_config,
)

FS_BYTES = 4 * 1024 * 1024
BLOAT = "x" * 40_000  # a vtiger field value carried in the event: 40 KB of the 64 KB body limit


def _mount(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "fs"
    where.mkdir()
    done = _mount(["mount", "-t", "tmpfs", "-o", f"size={FS_BYTES},mode=0700", "tmpfs", str(where)])
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for the state file (needs root): {done.stderr.strip()}")
    try:
        yield where
    finally:
        _mount(["umount", "-l", str(where)])


def _fill(filler: Path) -> Path:
    """Write into `filler` until the filesystem has no byte left.

    Unbuffered: a buffered file keeps the chunk that did not fit and writes it again when it is closed,
    which raised ENOSPC out of the `with` (CI, about 1 run in 5).
    """
    chunk = b"\0" * 65536
    with filler.open("ab", buffering=0) as out:
        for _ in range(FS_BYTES // len(chunk) + 16):
            try:
                out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    return filler


def _event(n: int, record: str) -> dict[str, object]:
    return {
        "event": "send",
        "module": "Contacts",
        "id": record,
        "event_id": f"disk-{n}",
        "text": f"disk send {n}",
        "data": {"description": BLOAT},
    }


def test_a_full_disk_gets_503_never_a_false_202(boxes: Boxes, tmp_path: Path, small_fs: Path) -> None:
    (client,) = add_clients(boxes, 1, "disk")
    config = write_config(tmp_path, boxes, state=small_fs / "state.sqlite3")
    answers: dict[int, int] = {}
    (small_fs / "filler").touch()
    with Daemon(config) as daemon:
        url = daemon.url
        assert url is not None
        filler = _fill(small_fs / "filler")
        refused = None
        for n in range(60):  # SQLite may still find room in pages it already owns: go on until it cannot
            answer = post_event(url, _event(n, client.record))
            answers[n] = answer.status_code
            if answer.status_code == 503:
                refused = answer.json()
                break
        assert refused is not None, answers
        assert refused["error"]["code"] == "store_unavailable"
        assert set(answers.values()) <= {202, 503}
        assert requests.get(f"{url}/healthz", timeout=5).status_code in (200, 503)  # still serving
        filler.unlink()
        n = len(answers)
        answers[n] = post_event(url, _event(n, client.record)).status_code
        assert answers[n] == 202  # space is back: work is taken again
        accepted = {f"disk send {k}" for k, code in answers.items() if code == 202}
        sent = lambda: {m["text"] for m in boxes.vk.delivered_to(client.vk_uid)}  # noqa: E731
        assert wait_for(lambda: sent() >= accepted, timeout=30), (accepted, sent())
        assert daemon.terminate() == 0
    texts = [m["text"] for m in boxes.vk.delivered_to(client.vk_uid)]
    assert sorted(texts) == sorted(accepted)  # each accepted event once, no refused one
    assert sorted(m["text"] for m in boxes.x.delivered_to(client.x_uid)) == sorted(accepted)


def test_a_read_only_state_file_refuses_work_with_a_clear_error(
    boxes: Boxes, tmp_path: Path, small_fs: Path
) -> None:
    (client,) = add_clients(boxes, 1, "ro")
    config = write_config(tmp_path, boxes, state=small_fs / "state.sqlite3")
    with Daemon(config) as daemon:  # a first run creates the state file
        assert daemon.terminate() == 0
    remount = _mount(["mount", "-o", "remount,ro", str(small_fs)])
    assert remount.returncode == 0, remount.stderr

    daemon = Daemon(config, expect_start=False)
    try:
        assert wait_for(lambda: daemon.url is not None or daemon.proc.poll() is not None, timeout=30)
        if daemon.url is not None:  # it may serve reads; it must not take work it cannot store
            answer = post_event(daemon.url, _event(0, client.record))
            assert answer.status_code == 503, answer.text
        else:
            assert daemon.proc.returncode != 0
            assert "cannot open the state store" in daemon.log, daemon.log[-2000:]
    finally:
        daemon.close()

    cli = _cli_send(config, client.record)
    output = cli.stdout + cli.stderr
    assert cli.returncode != 0, output
    assert "cannot open the state store" in output and str(small_fs) in output, output[-2000:]
    assert "queued as send" not in output
    assert boxes.vk.delivered_to(client.vk_uid) == [] and boxes.x.delivered_to(client.x_uid) == []
    assert boxes.crm.records("SPSocialConnector") == []


def test_the_cli_names_a_read_only_state_file_plainly(boxes: Boxes, tmp_path: Path, small_fs: Path) -> None:
    (client,) = add_clients(boxes, 1, "ro")
    config = write_config(tmp_path, boxes, state=small_fs / "state.sqlite3")
    with Daemon(config) as daemon:
        assert daemon.terminate() == 0
    assert _mount(["mount", "-o", "remount,ro", str(small_fs)]).returncode == 0
    cli = _cli_send(config, client.record)
    output = cli.stdout + cli.stderr
    assert "Traceback" not in output
    assert "read-only" in output or "readonly" in output


def _cli_send(config: Path, record: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run_bridge.py", "-c", str(config), "send", record, "--text", "ro send"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
