"""The PHP plugin's spool: nothing is lost while the bridge is down, real PHP against a live WebhookServer."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.webhook.endpoint import make_app
from bridge.webhook.events import Event
from bridge.webhook.server import WebhookServer
from tests.bridge.test_webhook_support import Recorder

if shutil.which("php") is None:
    if os.environ.get("CI"):
        raise RuntimeError("php-cli is required in CI (apt-get install -y php-cli php-curl)")
    pytest.skip("php is not installed", allow_module_level=True)

from tests.plugin.test_php_plugin import PHP, PLUGIN, SECRET, Vtiger, harness_result


class SpoolVtiger(Vtiger):
    """The fake vtiger root, plus the spool the plugin keeps next to its log."""

    @property
    def spool_file(self) -> Path:
        return self.log_file.parent / "socialbridge.spool"

    def spool(self) -> list[dict[str, Any]]:
        if not self.spool_file.exists():
            return []
        text = self.spool_file.read_text()
        assert text == "" or text.endswith("\n")
        return [json.loads(line) for line in text.splitlines()]

    def flush(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PHP or "php", "modules/SocialBridge/flush.php", *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def vtiger(tmp_path: Path) -> SpoolVtiger:
    plugin_dir = tmp_path / "vtiger" / "modules" / "SocialBridge"
    shutil.copytree(PLUGIN, plugin_dir)
    return SpoolVtiger(tmp_path / "vtiger", plugin_dir, tmp_path / "logs" / "socialbridge.log")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _serve(recorder: Any, port: int = 0) -> WebhookServer:
    app = make_app(
        secret=SECRET, accept=recorder, health=lambda: (200, {}), metrics=lambda: (b"", "text/plain")
    )
    return WebhookServer(app, port=port)


@pytest.fixture
def bridge_url(recorder: Recorder) -> Iterator[str]:
    with _serve(recorder) as server:
        yield server.url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def down_port() -> int:
    """Nothing listens here (yet): connections are refused."""
    return _free_port()


def _clean(result: dict[str, Any]) -> None:
    assert result["threw"] is None and result["printed"] == ""


def _save(vtiger: Vtiger, n: int, **kwargs: Any) -> dict[str, Any]:
    """One "record saved" for 12x<n>, with n in the data so each event can be told apart."""
    data = {"n": n, **kwargs.pop("data", {})}
    result = vtiger.call("socialbridge_record_saved", ws_id=f"12x{n}", data=data, **kwargs)
    _clean(result)
    return result


def _ns(events: list[Event]) -> list[int]:
    return [int(e.data["n"]) for e in events]


def test_every_event_carries_its_own_event_id(
    vtiger: SpoolVtiger, bridge_url: str, recorder: Recorder
) -> None:
    vtiger.configure(bridge_url)
    _save(vtiger, 1)
    _save(vtiger, 1)  # the same save twice is two events, not a duplicate
    first, second = recorder.events
    assert first.event_id != second.event_id
    for event in (first, second):
        assert event.event_id.startswith("vt-") and len(event.event_id) == 35
        int(event.event_id[3:], 16)
    assert vtiger.spool() == [] and vtiger.log() == ""


def test_bridge_down_keeps_the_event_and_the_save_stays_fast(vtiger: SpoolVtiger, down_port: int) -> None:
    vtiger.configure(f"http://127.0.0.1:{down_port}")
    result = _save(vtiger, 1, data={"lastname": "Иванов"})
    assert result["elapsed"] <= 2.5
    [spooled] = vtiger.spool()
    assert (spooled["event"], spooled["module"], spooled["id"]) == ("record_saved", "Contacts", "12x1")
    assert spooled["data"] == {"n": 1, "lastname": "Иванов"} and spooled["event_id"].startswith("vt-")
    log = vtiger.log()
    assert "bridge unreachable (cURL 7" in log and "kept in the spool" in log and "1 waiting" in log
    assert oct(vtiger.spool_file.stat().st_mode & 0o777) == "0o600"


def test_bridge_back_the_next_save_delivers_the_waiting_event_first(
    vtiger: SpoolVtiger, down_port: int, recorder: Recorder
) -> None:
    vtiger.configure(f"http://127.0.0.1:{down_port}")
    _save(vtiger, 1)
    _save(vtiger, 2)
    waiting = [e["event_id"] for e in vtiger.spool()]
    assert len(waiting) == 2
    with _serve(recorder, port=down_port):
        result = _save(vtiger, 3)
    assert result["elapsed"] <= 2.5
    assert _ns(recorder.events) == [1, 2, 3]  # in the order they happened
    assert [e.event_id for e in recorder.events[:2]] == waiting  # the same events, not copies
    assert vtiger.spool() == [] and not vtiger.spool_file.exists()
    assert "spool: re-sent 2 waiting event(s)" in vtiger.log()


def test_store_unavailable_503_is_kept_and_resent(
    vtiger: SpoolVtiger, bridge_url: str, recorder: Recorder
) -> None:
    vtiger.configure(bridge_url)
    recorder.fail = OSError("disk full")
    _save(vtiger, 1)
    assert "HTTP 503 (store_unavailable)" in vtiger.log()
    [spooled] = vtiger.spool()
    recorder.fail = None
    _save(vtiger, 2)
    assert _ns(recorder.events) == [1, 2] and recorder.events[0].event_id == spooled["event_id"]
    assert vtiger.spool() == []


def test_an_event_the_bridge_already_has_is_answered_duplicate_and_leaves_the_spool(
    vtiger: SpoolVtiger, bridge_url: str, recorder: Recorder
) -> None:
    """The bridge stored it but the answer never arrived: the resend is harmless."""
    vtiger.configure(bridge_url)
    _save(vtiger, 1)
    [stored] = recorder.events
    vtiger.spool_file.parent.mkdir(parents=True, exist_ok=True)
    vtiger.spool_file.write_text(json.dumps(stored.to_payload()) + "\n")
    _save(vtiger, 2)
    assert _ns(recorder.events) == [1, 2] and recorder.calls == 3  # 1, 1 again (200 duplicate), 2
    assert vtiger.spool() == []


def test_an_event_refused_with_4xx_is_not_kept(
    vtiger: SpoolVtiger, bridge_url: str, recorder: Recorder
) -> None:
    vtiger.configure(bridge_url)
    _clean(vtiger.call("socialbridge_record_saved", module="Potentials"))  # not a module the bridge serves
    assert recorder.events == [] and vtiger.spool() == []
    assert "HTTP 422 (invalid_event); refused for good" in vtiger.log()


def test_a_waiting_event_refused_with_4xx_leaves_the_spool_and_the_rest_goes_on(
    vtiger: SpoolVtiger, down_port: int, recorder: Recorder
) -> None:
    vtiger.configure(f"http://127.0.0.1:{down_port}")
    _save(vtiger, 1)
    bad = {"event": "record_saved", "module": "Potentials", "id": "13x1", "event_id": "vt-bad", "data": {}}
    with vtiger.spool_file.open("a") as spool:
        spool.write(json.dumps(bad) + "\n" + "{not json\n")
    _save(vtiger, 2)
    assert len(vtiger.spool()) == 3
    with _serve(recorder, port=down_port):
        _save(vtiger, 3)
    assert _ns(recorder.events) == [1, 2, 3]
    assert vtiger.spool() == []
    log = vtiger.log()
    assert "re-send record_saved Potentials 13x1: bridge answered HTTP 422" in log
    assert "dropped 1 unreadable line(s)" in log


def test_wrong_secret_401_is_kept_until_the_secret_is_fixed(
    vtiger: SpoolVtiger, bridge_url: str, recorder: Recorder
) -> None:
    vtiger.configure(bridge_url, secret="not-the-bridge-secret")
    _save(vtiger, 1)
    assert "HTTP 401 (bad_signature)" in vtiger.log() and len(vtiger.spool()) == 1
    vtiger.configure(bridge_url)
    _save(vtiger, 2)
    assert _ns(recorder.events) == [1, 2] and vtiger.spool() == []


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connections complete (kernel backlog) but are never read or answered."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_a_bridge_that_never_answers_costs_one_timeout_even_with_a_backlog(
    vtiger: SpoolVtiger, down_port: int, silent_port: int
) -> None:
    vtiger.configure(f"http://127.0.0.1:{down_port}")
    for n in (1, 2, 3):
        _save(vtiger, n)
    vtiger.configure(f"http://127.0.0.1:{silent_port}")
    result = _save(vtiger, 4)
    assert result["elapsed"] <= 2.5
    assert [e["data"]["n"] for e in vtiger.spool()] == [1, 2, 3, 4]
    assert "re-send record_saved Contacts 12x1: bridge unreachable (cURL 28" in vtiger.log()
    assert "12x4: not sent, earlier events wait first: kept in the spool" in vtiger.log()


class SlowRecorder(Recorder):
    delay = 0.15

    def __call__(self, event: Event) -> bool:
        time.sleep(self.delay)
        return super().__call__(event)


def test_a_large_backlog_is_sent_within_the_budget_and_the_rest_waits(
    vtiger: SpoolVtiger, down_port: int
) -> None:
    vtiger.configure(f"http://127.0.0.1:{down_port}")
    _clean(vtiger.call("socialbridge_record_saved", data={"n": 0}, repeat=30))
    assert len(vtiger.spool()) == 30
    backlog = [e["event_id"] for e in vtiger.spool()]
    slow = SlowRecorder()
    with _serve(slow, port=down_port):
        result = _save(vtiger, 1)
        assert result["elapsed"] <= 2.5
        delivered = [e.event_id for e in slow.events]
        waiting = [e["event_id"] for e in vtiger.spool()]
        assert 3 <= len(delivered) < 30 and delivered == backlog[: len(delivered)]  # oldest first
        assert vtiger.spool()[-1]["data"]["n"] == 1  # this save's event waits behind the backlog
        # The last request may have been stored by the bridge just as the time ran out: it is kept too,
        # and its resend is answered "duplicate". Nothing is missing either way.
        assert len(set(delivered) & set(waiting)) <= 1
        assert set(backlog) <= set(delivered) | set(waiting)
        slow.delay = 0
        _save(vtiger, 2)  # with a quick bridge, the next save clears the rest
    assert [e.event_id for e in slow.events[:30]] == backlog and _ns(slow.events[30:]) == [1, 2]
    assert vtiger.spool() == []


def test_concurrent_requests_keep_the_spool_valid(vtiger: SpoolVtiger, down_port: int) -> None:
    vtiger.configure(f"http://127.0.0.1:{down_port}")
    start_at = time.time() + 1.0
    procs = [
        subprocess.Popen(
            vtiger.harness_command(
                "socialbridge_record_saved",
                ws_id=f"12x{p + 1}",
                data={"p": p, "filler": "ж" * 3000},
                repeat=10,
                start_at=start_at,
            ),
            cwd=vtiger.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(8)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        _clean(harness_result(proc.returncode, out, err))
    spooled = vtiger.spool()  # every line parses
    assert len(spooled) == 80 and len({e["event_id"] for e in spooled}) == 80
    assert sorted(e["data"]["p"] for e in spooled) == sorted(list(range(8)) * 10)
    assert "LOST" not in vtiger.log() and "SPOOL ERROR" not in vtiger.log()


def test_a_full_spool_drops_the_oldest_loudly(vtiger: SpoolVtiger, down_port: int) -> None:
    vtiger.configure(f"http://127.0.0.1:{down_port}", spool_max_events=3)
    for n in range(1, 6):
        _save(vtiger, n)
    assert [e["data"]["n"] for e in vtiger.spool()] == [3, 4, 5]
    log = vtiger.log()
    assert log.count("SPOOL FULL") == 2 and "IT IS LOST: record_saved Contacts 12x1 event_id vt-" in log


def test_the_spool_is_bounded_in_bytes_too(vtiger: SpoolVtiger, down_port: int) -> None:
    vtiger.configure(f"http://127.0.0.1:{down_port}", spool_max_bytes=50_000)
    for n in range(1, 5):
        _save(vtiger, n, data={"filler": "x" * 20_000})
    assert [e["data"]["n"] for e in vtiger.spool()] == [3, 4]
    assert vtiger.spool_file.stat().st_size <= 50_000


def test_spool_file_can_be_configured(vtiger: SpoolVtiger, down_port: int, tmp_path: Path) -> None:
    spool = tmp_path / "elsewhere" / "events.jsonl"
    vtiger.configure(f"http://127.0.0.1:{down_port}", spool_file=str(spool))
    _save(vtiger, 1)
    assert len(spool.read_text().splitlines()) == 1 and not vtiger.spool_file.exists()


def test_flush_php_sends_the_spool_or_says_what_waits(
    vtiger: SpoolVtiger, down_port: int, recorder: Recorder
) -> None:
    vtiger.configure(f"http://127.0.0.1:{down_port}")
    empty = vtiger.flush()
    assert (empty.returncode, empty.stderr) == (0, "") and "0 waiting" in empty.stdout
    for n in (1, 2, 3):
        _save(vtiger, n)
    still_down = vtiger.flush("--seconds=5")
    assert still_down.returncode == 1 and "3 waiting" in still_down.stdout and "cURL 7" in still_down.stdout
    assert len(vtiger.spool()) == 3
    with _serve(recorder, port=down_port):
        done = vtiger.flush("--quiet")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert _ns(recorder.events) == [1, 2, 3] and vtiger.spool() == []
    assert "flush: re-sent 3 waiting event(s), 0 refused for good, 0 left" in vtiger.log()


def test_flush_php_reports_bad_arguments_and_a_missing_config(vtiger: SpoolVtiger) -> None:
    bad = vtiger.flush("--seconds=soon")
    assert bad.returncode == 2 and "usage" in bad.stderr
    unconfigured = vtiger.flush()
    assert unconfigured.returncode == 2 and "the social bridge is not set up" in unconfigured.stderr
