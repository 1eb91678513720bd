"""A CRM whose workflows run the real PHP plugin inside the save, and the bridge it posts to.

`World` holds the vtiger sandbox (workflows before the commit of webservice saves), the VK sandbox, the
real plugin (tests/plugin/php_request.py) and the bridge as the daemon wires it (`App.prepare`, its
webhook on the state store), with the processing driven by the test instead of the worker thread:

- `world.bridge_acts_now` is a workflow task that makes the bridge process what it has received *while
  the save is still running* — the worst case of the race on the real server (issue 9, defect 1). Its
  writes wait for the commit (the sandbox's row lock), as they would on MySQL.
- `world.settle()` lets time pass and processes events and sends until nothing is left to do.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.config import load_config
from bridge.daemon.app import App
from bridge.webhook.endpoint import make_app, store_acceptor
from bridge.webhook.server import WebhookServer
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from sandbox.vtiger.workflows import WorkflowRun
from tests.daemon.helpers import SECRET, write_config
from tests.plugin.php_request import PluginTasks
from tests.plugin.test_php_plugin import PHP, PLUGIN, Vtiger
from vtiger_ws import VtigerClient

ROOT = Path(__file__).resolve().parents[2]
SEND_FIELD = "description"


@dataclass
class FakeClock:
    """The processor's clock: real time plus whatever the test skipped ahead."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class World:
    crm: VtigerSandbox
    vk: VkSandbox
    app: App
    plugin: PluginTasks
    writer: VtigerClient  # an API client saving records (an integration, a script)
    clock: FakeClock
    during_save: list[threading.Thread] = field(default_factory=list)
    busy: threading.Lock = field(default_factory=threading.Lock)  # the bridge processes in one thread
    fired: list[str] = field(default_factory=list)  # summaries of the shipped workflows that ran

    @property
    def parts(self) -> Any:
        return self.app.parts

    def bridge_acts_now(self, run: WorkflowRun) -> None:
        """A task: the bridge processes what it has received, while the save's transaction is open.

        Its reads see the record as it was; a write it makes waits for the commit. The task waits a moment
        for the processing, then lets the save go on (the processing finishes after the commit). A save
        the bridge makes itself finds it busy: like the daemon's one worker, it never runs twice at once.
        """
        if not self.busy.acquire(blocking=False):
            return
        thread = threading.Thread(target=self._process, name="bridge-during-save")
        self.during_save.append(thread)
        thread.start()
        thread.join(2.0)

    def _process(self) -> None:
        try:
            self.parts.processor.process_pending()
        finally:
            self.busy.release()

    def settle(self, *, rounds: int = 20) -> None:
        """Finish what ran during saves, then let time pass until no event and no send is left."""
        for thread in self.during_save:
            thread.join(60)
            assert not thread.is_alive()
        self.during_save.clear()
        store = self.parts.store
        for _ in range(rounds):
            with self.busy:
                self.parts.processor.process_pending()
                self.parts.sender.process_due()
            if not store.events.pending() and store.outbox.depth() == 0:
                return
            self.clock.offset += 61.0  # the next retry of a waiting event is due
        raise AssertionError(f"still to do: {store.events.pending()}, {store.outbox.depth()} send(s)")

    def skip(self, seconds: float) -> None:
        self.clock.offset += seconds

    def card(self, record_id: str) -> dict[str, str]:
        record = self.crm.get(record_id)
        assert record is not None, record_id
        return record

    def failures(self) -> list[str]:
        return [str(e.error) for e in self.parts.store.events.failures()]


def load_workflows(module: str, *options: str) -> list[dict[str, Any]]:
    """The workflows the plugin ships (vtiger_plugin/workflows.json), as workflows.php stores them."""
    done = subprocess.run(
        [
            PHP or "php",
            str(ROOT / "vtiger_plugin" / "workflows.php"),
            "--print",
            f"--module={module}",
            "--url-fields=vk_url,tw_url",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    workflows: list[dict[str, Any]] = json.loads(done.stdout)
    return workflows


# install.php's registrations: the label a task names -> the plugin function vtiger calls.
METHODS = {
    "Social bridge: send message": "socialbridge_send",
    "Social bridge: import profile": "socialbridge_import_profile",
    "Social bridge: record saved": "socialbridge_record_saved",
}


def add_shipped_workflows(w: World, module: str, *options: str, only: str | None = None) -> None:
    """Register the shipped workflows (or the one named `only`) on the sandbox, running the real plugin."""
    for spec in load_workflows(module, *options):
        summary = str(spec["summary"])
        if only is not None and summary != only:
            continue
        task = w.plugin.task(METHODS[spec["task"]["methodName"]])
        w.crm.add_workflow(
            spec["module"],
            lambda run, s=summary: w.fired.append(s),
            task,
            w.bridge_acts_now,
            execution_condition=spec["execution_condition"],
            test=spec["test"],
            summary=summary,
        )


@contextmanager
def world(tmp_path: Path, *, outgoing_text_field: str = SEND_FIELD, **plugin_config: Any) -> Iterator[World]:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        extra = f"fields: {{outgoing_text_field: {outgoing_text_field}}}\n" if outgoing_text_field else ""
        app = App(load_config(write_config(tmp_path, crm, vk, extra=extra), env={}))
        clock = FakeClock()
        app.parts.processor.clock = clock
        try:
            app.prepare()
            web = make_app(
                secret=SECRET,
                accept=store_acceptor(app.parts.store.events),
                health=lambda: (200, {}),
                metrics=lambda: (b"", "text/plain"),
            )
            plugin_dir = tmp_path / "vtiger" / "modules" / "SocialBridge"
            shutil.copytree(PLUGIN, plugin_dir)
            vtiger = Vtiger(tmp_path / "vtiger", plugin_dir, tmp_path / "logs" / "socialbridge.log")
            with (
                WebhookServer(web) as server,
                VtigerClient(crm.url, crm.username, crm.access_key, timeout=60.0) as writer,
            ):
                vtiger.configure(server.url, secret=SECRET, **plugin_config)
                crm.transactions.lock_wait_seconds = 20.0
                yield World(crm, vk, app, PluginTasks(vtiger, server.url), writer, clock)
        finally:
            app.parts.close()
