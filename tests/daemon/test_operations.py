"""Running the daemon day to day: SIGHUP reloads, `status` and `health` say the truth, logs and metrics
show what happened (including sends made from the command line and refused webhook calls)."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bridge import exits
from bridge.daemon.logs import configure
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import SECRET, Daemon, post_event, wait_for, write_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def world() -> Iterator[tuple[VtigerSandbox, VkSandbox]]:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        yield crm, vk


def cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run_bridge.py", "-c", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def metric(url: str, name: str, **labels: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=5).text
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def a_client(crm: VtigerSandbox, vk: VkSandbox, name: str) -> tuple[int, str]:
    uid = vk.add_user(name.title(), "Client", screen_name=name)
    record = crm.seed("Contacts", {"lastname": "Client", "vk_url": f"https://vk.com/{name}"})
    return uid, record


# --- SIGHUP --------------------------------------------------------------------------------------------
def test_sighup_reloads_what_it_safely_can_and_names_the_rest(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    uid, record = a_client(crm, vk, "reload_person")
    config = write_config(tmp_path, crm, vk)
    with Daemon(config) as daemon:
        assert daemon.url is not None
        # A new token (the old one revoked), a new log level, and a port change that needs a restart.
        new_token = vk.add_token("group", vk.group_id, {"messages", "manage"})
        vk.revoke_token(vk.community_token)
        text = config.read_text().replace(vk.community_token, new_token).replace("port: 0", "port: 1")
        config.write_text(text + "logging: {level: DEBUG}\n")
        daemon.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "SIGHUP: reloaded" in daemon.log, timeout=20), daemon.log
        reloaded = next(line for line in daemon.lines if "SIGHUP: reloaded" in line)
        assert "logging.level" in reloaded and "networks.vk.token" in reloaded
        assert new_token not in daemon.log and vk.community_token not in daemon.log  # names, not values
        assert wait_for(lambda: "webhook.port changed but take effect only after a restart" in daemon.log)
        assert daemon.proc.poll() is None  # SIGHUP no longer kills it
        # The new token is used: a send goes out with it.
        event = {"event": "send", "module": "Contacts", "id": record, "event_id": "hup-1", "text": "HUP"}
        assert post_event(daemon.url, event).status_code == 202
        assert wait_for(lambda: len(vk.delivered_to(uid)) == 1, timeout=20), daemon.log[-3000:]
        # A broken file leaves the running configuration alone, with one line saying why.
        config.write_text("version: 1\nvtiger: {url: 42}\n")
        daemon.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "not reloaded, the running configuration stays" in daemon.log)
        assert requests.get(f"{daemon.url}/healthz", timeout=5).status_code == 200
        assert daemon.terminate() == 0


def test_the_systemd_unit_reloads_with_sighup_and_lists_the_exit_codes_not_to_restart() -> None:
    unit = (ROOT / "deploy" / "vtiger-social-bridge.service").read_text()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    prevent = re.search(r"^RestartPreventExitStatus=(.*)$", unit, re.MULTILINE)
    assert prevent is not None
    codes = {int(code) for code in prevent.group(1).split()}
    assert codes == {
        exits.EXIT_USAGE,
        exits.EXIT_STARTUP,
        exits.EXIT_CANTCREAT,
        exits.EXIT_TEMPFAIL,
        exits.EXIT_CONFIG,
    }
    assert exits.EXIT_UNAVAILABLE not in codes and exits.EXIT_CRASH not in codes  # those are retried
    assert "User=vsb" in unit


# --- status and health -----------------------------------------------------------------------------
def test_status_says_whether_the_daemon_runs_and_lists_failed_workflow_events(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    nolink = crm.seed("Contacts", {"lastname": "Nolink"})
    config = write_config(tmp_path, crm, vk)
    before = cli(config, "status")
    assert before.returncode == 0 and "daemon: not running" in before.stdout
    with Daemon(config) as daemon:
        assert daemon.url is not None
        event = {"event": "send", "module": "Contacts", "id": nolink, "event_id": "no-link-1", "text": "hi"}
        assert post_event(daemon.url, event).status_code == 202
        assert wait_for(lambda: f"event no-link-1 (send {nolink}) not carried out" in daemon.log)
        during = cli(config, "status")
        assert f"daemon: running (pid {daemon.pid}, since " in during.stdout, during.stdout
        assert "), healthy" in during.stdout
        assert "recent failures of workflow events:" in during.stdout
        assert f"send {nolink} (event no-link-1): record {nolink}" in during.stdout
        assert daemon.terminate() == 0


def test_health_exits_0_when_degraded_and_69_when_nothing_answers(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    _, record = a_client(crm, vk, "degraded_person")
    config = write_config(tmp_path, crm, vk)
    with Daemon(config) as daemon:
        assert daemon.url is not None
        # port 0 in the file: `health` finds the daemon's real address in the state file's lock
        vk.revoke_token(vk.community_token)  # one network down: degraded, not dead
        event = {"event": "send", "module": "Contacts", "id": record, "event_id": "deg-1", "text": "hi"}
        assert post_event(daemon.url, event).status_code == 202
        assert wait_for(lambda: requests.get(f"{daemon.url}/healthz", timeout=5).status_code == 503)
        done = cli(config, "health")
        assert done.returncode == exits.EXIT_OK, done.stdout + done.stderr
        assert done.stdout.startswith("degraded: vk: bad credentials")
        assert daemon.terminate() == 0
    done = cli(config, "health")
    assert done.returncode == exits.EXIT_UNAVAILABLE and "does not answer" in done.stdout


def test_the_dockerfile_healthcheck_asks_the_configured_daemon() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    check = next(line for line in dockerfile.splitlines() if line.startswith("HEALTHCHECK"))
    assert '"vtiger-social-bridge", "health"' in check and "8787" not in check


# --- logs and metrics ------------------------------------------------------------------------------
def test_refused_webhook_calls_are_logged_with_reason_and_caller_and_counted(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    _, record = a_client(crm, vk, "webhook_person")
    with Daemon(write_config(tmp_path, crm, vk)) as daemon:
        assert daemon.url is not None
        event = {"event": "send", "module": "Contacts", "id": record, "event_id": "w-1", "text": "hi"}
        wrong = "wrong-secret-0123456789abcdef"
        assert post_event(daemon.url, event, secret=wrong).status_code == 401
        headers = {
            "Content-Type": "application/json",
            "X-Bridge-Timestamp": "1000",
            "X-Bridge-Signature": "sha256=00",
        }
        stale = requests.post(f"{daemon.url}/v1/vtiger/events", data=b"{}", timeout=5, headers=headers)
        assert stale.status_code == 401
        assert post_event(daemon.url, event).status_code == 202
        assert post_event(daemon.url, event).status_code == 200  # a duplicate
        assert wait_for(lambda: "stale_timestamp" in daemon.log)
        refused = [line for line in daemon.lines if "webhook: refused" in line]
        assert any("from 127.0.0.1: bad_signature" in line for line in refused), refused
        assert any("from 127.0.0.1: stale_timestamp" in line for line in refused), refused
        assert all(" WARNING " in line for line in refused)
        assert SECRET not in daemon.log and wrong not in daemon.log
        assert metric(daemon.url, "bridge_webhook_requests_total", outcome="bad_signature") == 1
        assert metric(daemon.url, "bridge_webhook_requests_total", outcome="stale_timestamp") == 1
        assert metric(daemon.url, "bridge_webhook_requests_total", outcome="accepted") == 1
        assert metric(daemon.url, "bridge_webhook_requests_total", outcome="duplicate") == 1
        assert daemon.terminate() == 0


def test_sends_from_the_command_line_show_in_the_daemons_metrics_and_health_per_component(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    uid, record = a_client(crm, vk, "metrics_person")
    config = write_config(tmp_path, crm, vk)
    with Daemon(config) as daemon:
        assert daemon.url is not None
        assert metric(daemon.url, "bridge_sends_total", network="vk", outcome="sent") == 0
        done = cli(config, "send", record, "--text", "from the CLI")
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(vk.delivered_to(uid)) == 1
        assert metric(daemon.url, "bridge_sends_total", network="vk", outcome="sent") == 1
        assert metric(daemon.url, "bridge_component_healthy", component="vtiger", state="ok") == 1
        assert metric(daemon.url, "bridge_component_healthy", component="vk") == 1
        vk.revoke_token(vk.community_token)
        event = {"event": "send", "module": "Contacts", "id": record, "event_id": "m-2", "text": "again"}
        assert post_event(daemon.url, event).status_code == 202
        assert wait_for(
            lambda: (
                metric(daemon.url or "", "bridge_component_healthy", component="vk", state="bad credentials")
                == 0.0
                and "bad credentials" in requests.get(f"{daemon.url}/metrics", timeout=5).text
            )
        )
        assert daemon.terminate() == 0


def test_the_daemon_log_says_each_send_once_and_no_scheduler_chatter(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    uid, record = a_client(crm, vk, "log_person")
    config = write_config(tmp_path, crm, vk)
    # the scheduled import's own log line is looked at: VK's long poll (which would record first) is off
    text = config.read_text().replace("interval_minutes: 60", "interval_minutes: 0.01")
    config.write_text(text.replace("imports: {", "intake: poll, imports: {"))
    with Daemon(config) as daemon:
        assert daemon.url is not None
        event = {"event": "send", "module": "Contacts", "id": record, "event_id": "log-1", "text": "hello"}
        assert post_event(daemon.url, event).status_code == 202
        assert wait_for(lambda: len(vk.delivered_to(uid)) == 1)
        vk.incoming(uid, "an answer")  # the import runs every 0.6 s
        assert wait_for(lambda: "vk: imported 1 new message(s)" in daemon.log, timeout=20), daemon.log[-2000:]
        assert daemon.terminate() == 0
    delivered = [line for line in daemon.lines if "delivered on vk" in line]
    assert len(delivered) == 1 and " INFO " in delivered[0] and record in delivered[0]
    assert "Running job" not in daemon.log and "executed successfully" not in daemon.log


def test_a_log_file_survives_logrotate(tmp_path: Path) -> None:
    """logrotate renames the file; the bridge writes on into a new file at the configured path."""
    log_file = tmp_path / "bridge.log"
    configure("INFO", "text", str(log_file), [])
    try:
        logging.getLogger("bridge.test").info("before the rotation")
        os.rename(log_file, tmp_path / "bridge.log.1")
        logging.getLogger("bridge.test").info("after the rotation")
    finally:
        configure("INFO", "text", "", [])
    assert "before the rotation" in (tmp_path / "bridge.log.1").read_text()
    assert "after the rotation" in log_file.read_text()
    assert "after the rotation" not in (tmp_path / "bridge.log.1").read_text()


def test_no_second_traceback_after_the_bridges_own_line(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    config = write_config(tmp_path, crm, vk)
    config.write_text(config.read_text().replace("interval_minutes: 60", "interval_minutes: 0.01"))
    with Daemon(config) as daemon:
        vk.revoke_token(vk.community_token)
        assert wait_for(lambda: "rejected the token: imports paused" in daemon.log, timeout=20)
        crm.faults.http_error(500, times=None)  # and an import that fails on the CRM side
        time.sleep(1.5)
        crm.faults.clear()
        assert daemon.terminate() == 0
    assert "Traceback" not in daemon.log, daemon.log[-3000:]


def test_a_reload_gives_the_running_import_its_new_unknown_sender_rule_and_limit(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    """`networks.<n>.imports` is reloadable: the import that runs next uses the new values."""
    from bridge.config import load_config
    from bridge.daemon.app import App
    from bridge.daemon.reload import reload_config

    crm, vk = world
    config = write_config(tmp_path, crm, vk)
    app = App(load_config(config, env={}))
    try:
        importer = app.parts.importers["vk"]
        assert (importer.intake.unknown_sender, importer.limit) == ("skip", 20)
        imports = "imports: {interval_minutes: 60, unknown_sender: create_lead, limit: 7}"
        config.write_text(config.read_text().replace("imports: {interval_minutes: 60}", imports))
        reload_config(app.parts, app.scheduler)
        assert (importer.intake.unknown_sender, importer.limit) == ("create_lead", 7)
    finally:
        app.parts.close()
