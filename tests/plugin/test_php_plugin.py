"""The real PHP plugin (Debian php-cli) against a live WebhookServer: both halves agree on the contract."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.webhook.endpoint import make_app
from bridge.webhook.server import WebhookServer
from tests.bridge.test_webhook_support import Recorder

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "vtiger_plugin"
HARNESS = Path(__file__).resolve().parent / "php_harness.php"
SECRET = "php-side-secret-5e1d0c7a"
PHP = shutil.which("php")

if PHP is None:
    if os.environ.get("CI"):
        raise RuntimeError("php-cli is required in CI (apt-get install -y php-cli php-curl)")
    pytest.skip("php is not installed", allow_module_level=True)


@dataclass
class Vtiger:
    """A fake vtiger root with the plugin copied to modules/SocialBridge/."""

    root: Path
    plugin_dir: Path
    log_file: Path

    def configure(self, url: str, secret: str = SECRET, **extra: Any) -> None:
        values = {"bridge_url": url, "secret": secret, "log_file": str(self.log_file), **extra}
        items = ",\n".join(f"    {json.dumps(k)} => {json.dumps(v)}" for k, v in values.items())
        (self.plugin_dir / "socialbridge.config.php").write_text(f"<?php\nreturn array(\n{items}\n);\n")

    def log(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""

    def harness_command(
        self,
        function: str,
        *,
        ws_id: str = "12x5",
        module: str = "Contacts",
        data: dict[str, Any] | None = None,
        delta: dict[str, Any] | None = None,
        repeat: int = 1,
        start_at: float | None = None,
        is_new: bool | None = None,
    ) -> list[str]:
        args: dict[str, Any] = {
            "plugin": str(self.plugin_dir / "SocialBridge.php"),
            "function": function,
            "id": ws_id,
            "module": module,
            "data": data if data is not None else {},
            "delta": delta,
            "repeat": repeat,
            "start_at": start_at,
        }
        if is_new is not None:
            args["is_new"] = is_new
        return [PHP or "php", str(HARNESS), json.dumps(args)]

    def call(self, function: str, **kwargs: Any) -> dict[str, Any]:
        done = subprocess.run(
            self.harness_command(function, **kwargs),
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return harness_result(done.returncode, done.stdout, done.stderr)


def harness_result(returncode: int, stdout: str, stderr: str) -> dict[str, Any]:
    assert returncode == 0 and stderr == "", (returncode, stderr)
    result: dict[str, Any] = json.loads(stdout)
    return result


@pytest.fixture
def bridge_url(recorder: Recorder) -> Iterator[str]:
    app = make_app(
        secret=SECRET, accept=recorder, health=lambda: (200, {}), metrics=lambda: (b"", "text/plain")
    )
    with WebhookServer(app) as server:
        yield server.url


def _clean(result: dict[str, Any]) -> None:
    assert result["threw"] is None and result["printed"] == ""


def test_record_saved_is_signed_accepted_and_carries_the_delta(
    vtiger: Vtiger, bridge_url: str, recorder: Recorder
) -> None:
    vtiger.configure(bridge_url)
    data = {"id": "12x5", "lastname": "Иванов", "cf_vk": "https://vk.com/id1", "assigned_user_id": "19x1"}
    delta = {"Contacts": {"5": {"cf_vk": {"oldValue": "", "currentValue": "https://vk.com/id1"}}}}
    result = vtiger.call("socialbridge_record_saved", data=data, delta=delta)
    _clean(result)
    [event] = recorder.events  # accepted means the PHP signature verified in Python
    assert (event.event, event.module, event.record_id) == ("record_saved", "Contacts", "12x5")
    assert event.data == data and event.changed == ["cf_vk"]
    assert abs(event.ts - time.time()) < 60
    assert vtiger.log() == ""


def test_record_saved_without_vtentitydelta_and_empty_data(
    vtiger: Vtiger, bridge_url: str, recorder: Recorder
) -> None:
    vtiger.configure(bridge_url)
    _clean(vtiger.call("socialbridge_record_saved", ws_id="11x9", module="Accounts"))
    [event] = recorder.events
    assert event.record_id == "11x9" and event.data == {} and event.changed is None


def test_send_and_import_profile(vtiger: Vtiger, bridge_url: str, recorder: Recorder) -> None:
    vtiger.configure(bridge_url)
    _clean(vtiger.call("socialbridge_send", data={"cf_message": "Здравствуйте!"}, is_new=False))
    _clean(vtiger.call("socialbridge_import_profile", ws_id="10x3", module="Leads", is_new=True))
    send, imp = recorder.events
    # The bridge takes the text from the record data (its fields.outgoing_text_field), never from the plugin.
    assert (send.event, send.text, send.data["cf_message"], send.is_new) == (
        "send",
        None,
        "Здравствуйте!",
        False,
    )
    assert (imp.event, imp.module, imp.record_id, imp.is_new) == ("import_profile", "Leads", "10x3", True)


def test_events_carry_the_saved_modifiedtime(vtiger: Vtiger, bridge_url: str, recorder: Recorder) -> None:
    vtiger.configure(bridge_url)
    _clean(vtiger.call("socialbridge_send", data={"modifiedtime": "2026-01-31 10:15:02", "lastname": "A"}))
    _clean(vtiger.call("socialbridge_send", data={"modifiedtime": "31-01-2026"}))  # not vtiger's form: unused
    first, second = recorder.events
    assert (first.modifiedtime, first.is_new, second.modifiedtime) == ("2026-01-31 10:15:02", None, None)


def test_oversized_record_leaves_out_its_largest_values(
    vtiger: Vtiger, bridge_url: str, recorder: Recorder
) -> None:
    vtiger.configure(bridge_url)
    data = {
        "description": "x" * 70_000,
        "vk_url": "https://vk.com/id1",
        "modifiedtime": "2026-01-31 10:15:02",
    }
    _clean(vtiger.call("socialbridge_record_saved", data=data))
    [event] = recorder.events
    assert event.data == {"vk_url": "https://vk.com/id1", "modifiedtime": "2026-01-31 10:15:02"}
    assert "record data too large, sent without description" in vtiger.log()


def test_wrong_secret_is_refused_and_logged_without_the_secret(
    vtiger: Vtiger, bridge_url: str, recorder: Recorder
) -> None:
    vtiger.configure(bridge_url, secret="not-the-bridge-secret")
    _clean(vtiger.call("socialbridge_send"))
    assert recorder.events == []
    log = vtiger.log()
    assert "HTTP 401 (bad_signature)" in log and "not-the-bridge-secret" not in log and SECRET not in log


def test_store_failure_is_logged_and_the_save_goes_on(
    vtiger: Vtiger, bridge_url: str, recorder: Recorder
) -> None:
    vtiger.configure(bridge_url)
    recorder.fail = OSError("disk full")
    _clean(vtiger.call("socialbridge_record_saved"))
    assert "HTTP 503 (store_unavailable)" in vtiger.log()


def test_missing_config_never_breaks_the_save(vtiger: Vtiger) -> None:
    _clean(vtiger.call("socialbridge_record_saved"))
    default_log = vtiger.plugin_dir / "logs" / "socialbridge.log"
    assert "the social bridge is not set up: enter the bridge URL and secret" in default_log.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_dead_bridge_closed_port_costs_nothing(vtiger: Vtiger) -> None:
    vtiger.configure(f"http://127.0.0.1:{_free_port()}")
    result = vtiger.call("socialbridge_record_saved")
    _clean(result)
    assert result["elapsed"] <= 2.5
    assert "bridge unreachable (cURL 7" in vtiger.log()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose connections complete (kernel backlog) but are never read or answered."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_bridge_that_never_answers_costs_at_most_the_timeout(vtiger: Vtiger, silent_port: int) -> None:
    vtiger.configure(f"http://127.0.0.1:{silent_port}")
    result = vtiger.call("socialbridge_send", data={"description": "y" * 5000})
    _clean(result)
    assert result["elapsed"] <= 2.5  # a bound on the save, not a speed test
    assert "bridge unreachable (cURL 28" in vtiger.log()  # 28 = CURLE_OPERATION_TIMEDOUT


def test_timeout_cannot_be_configured_above_two_seconds(vtiger: Vtiger, silent_port: int) -> None:
    vtiger.configure(f"http://127.0.0.1:{silent_port}", timeout_ms=60_000)
    result = vtiger.call("socialbridge_import_profile")
    _clean(result)
    assert result["elapsed"] <= 2.5
