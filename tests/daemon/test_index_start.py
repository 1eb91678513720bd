"""Issue 14 §3: the daemon listens before the CRM is read; the URL index is brought up to date behind it.

The real daemon as a process against in-process sandboxes. A gate held in the vtiger sandbox keeps the
index's walk of Contacts waiting, which proves what does not wait for it (the webhook, a send, /healthz)
and what does (imports), without timing anything.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
import requests

from bridge.cli.main import main
from sandbox._http import Request, Response
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import Daemon, post_event, wait_for, write_config

WALK = re.compile(r"FROM Contacts\b.*ORDER BY id LIMIT 100;$")  # the index's keyset pages
CATCH_UP = re.compile(r"FROM Contacts WHERE modifiedtime")  # its changes since the watermark


class Gate:
    """Holds every vtiger query matching `pattern` until opened."""

    def __init__(self, crm: VtigerSandbox, pattern: re.Pattern[str]) -> None:
        self.open = threading.Event()
        self.waiting = threading.Event()
        handle: Callable[[Request], Response] = crm.handle

        def gated(request: Request) -> Response:
            if pattern.search(request.arg("query") or "") and not self.open.is_set():
                self.waiting.set()
                self.open.wait(60)
            return handle(request)

        crm.handle = gated  # type: ignore[method-assign]


@pytest.fixture
def boxes() -> Iterator[tuple[VtigerSandbox, VkSandbox]]:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        yield crm, vk


def _contacts(crm: VtigerSandbox, vk: VkSandbox, count: int, tag: str) -> list[tuple[str, int]]:
    found = []
    for n in range(count):
        uid = vk.add_user("Index", f"{tag}{n}")
        found.append(
            (crm.seed("Contacts", {"lastname": f"{tag}{n}", "vk_url": f"https://vk.com/id{uid}"}), uid)
        )
    return found


def _health(url: str) -> dict[str, object]:
    body = requests.get(f"{url}/healthz", timeout=5).json()
    assert isinstance(body, dict)
    return body


def _index_state(url: str) -> str:
    index = _health(url)["url_index"]
    assert isinstance(index, dict)
    return str(index["state"])


def _listen_requests(daemon: Daemon) -> int:
    match = re.search(r"webhook listening on \S+ \((\d+) vtiger requests since start\)", daemon.log)
    assert match, daemon.log
    return int(match.group(1))


def _indexed(state: Path) -> dict[str, str]:
    with closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True)) as conn:
        return {r[0]: r[1] for r in conn.execute("SELECT record_id, url FROM url_index")}


def test_a_first_start_listens_and_sends_while_the_index_is_built_and_imports_wait(
    boxes: tuple[VtigerSandbox, VkSandbox], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crm, vk = boxes
    (client, uid), *_ = _contacts(crm, vk, 150, "cold")
    gate = Gate(crm, WALK)
    config, state = write_config(tmp_path, crm, vk), tmp_path / "state.sqlite3"
    with Daemon(config) as daemon:
        assert daemon.url is not None
        assert gate.waiting.wait(30)  # the build is held on its first page of Contacts
        assert _index_state(daemon.url) == "building"
        assert main(["-c", str(config), "status"]) == 0
        assert "URL index: building" in capsys.readouterr().out
        payload = {"event": "send", "module": "Contacts", "id": client, "event_id": "cold-1", "text": "hi"}
        assert post_event(daemon.url, payload).status_code == 202
        # The send reads its record itself: it is delivered and recorded while the index is held.
        assert wait_for(lambda: len(crm.records("SPSocialConnector")) == 1, timeout=30), daemon.log
        assert [m["text"] for m in vk.delivered_to(uid)] == ["hi"]
        assert crm.records("SPSocialConnector")[0]["message"] == "hi"
        assert vk.count("messages.getConversations") == 0  # imports wait for the index
        assert "imports start once it is built" in daemon.log
        gate.open.set()
        assert wait_for(lambda: _index_state(daemon.url or "") == "ready", timeout=30), daemon.log
        assert wait_for(lambda: vk.count("messages.getConversations") > 0, timeout=30), daemon.log
        assert daemon.terminate() == 0
    assert len(_indexed(state)) == 150


def test_a_restart_with_the_index_in_the_state_file_listens_first_and_catches_up(
    boxes: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = boxes
    crm.set_time(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))  # saved an hour ago, as most of a CRM is
    records = _contacts(crm, vk, 250, "warm")
    crm.set_time(None)
    config, state = write_config(tmp_path, crm, vk), tmp_path / "state.sqlite3"
    with Daemon(config) as daemon:
        assert daemon.url is not None
        assert wait_for(lambda: _index_state(daemon.url or "") == "ready", timeout=30), daemon.log
        assert daemon.terminate() == 0
    cold = _listen_requests(daemon)
    assert len(_indexed(state)) == 250

    # While the daemon is down: a new client, and one client's link changed in the CRM.
    ((new, _),) = _contacts(crm, vk, 1, "new")
    changed = records[7][0]
    crm.ui_save("Contacts", {"vk_url": "https://vk.com/id999"}, changed)
    gate = Gate(crm, CATCH_UP)
    crm.reset_log()
    with Daemon(config) as daemon:
        assert daemon.url is not None
        assert gate.waiting.wait(30)
        # Listening before any page of the index was read: login, schema check, probe — as an empty CRM.
        assert _listen_requests(daemon) <= 20
        assert _listen_requests(daemon) == cold
        assert _index_state(daemon.url) == "catching up"
        gate.open.set()
        assert wait_for(lambda: _index_state(daemon.url or "") == "ready", timeout=30), daemon.log
        assert daemon.terminate() == 0
    assert "catches up with the CRM's changes" in daemon.log
    indexed = _indexed(state)
    assert indexed[new].startswith("https://vk.com/id") and indexed[changed] == "https://vk.com/id999"
    assert len(indexed) == 251
    # The catch-up read the changes only: one query per module with links (no page walk of 250 records).
    assert crm.count("query") <= 6, crm.count("query")


def test_a_crm_failure_during_the_first_build_is_tried_again_within_seconds(
    boxes: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    """Imports and streams wait for the index: a CRM blip during its first build must not leave them
    waiting for the scheduled refresh, minutes later."""
    crm, vk = boxes
    _contacts(crm, vk, 150, "blip")
    gate = Gate(crm, WALK)
    with Daemon(write_config(tmp_path, crm, vk)) as daemon:
        assert daemon.url is not None
        assert gate.waiting.wait(30)
        crm.faults.http_error(500, operation="query", times=1)  # the held page fails
        gate.open.set()
        assert wait_for(lambda: "trying again in" in daemon.log, timeout=30), daemon.log
        assert wait_for(lambda: _index_state(daemon.url or "") == "ready", timeout=30), daemon.log
        assert wait_for(lambda: vk.count("messages.getConversations") > 0, timeout=30), daemon.log
        assert daemon.terminate() == 0
