"""The real PHP plugin as an "Invoke Custom Function" task of the vtiger sandbox's workflows.

`PluginTasks(vtiger).task("socialbridge_send")` is a sandbox workflow task: the first task of a request
starts `php php_request.php` (one PHP process per request, as under Apache), each task calls the plugin
function there with the entity the sandbox built, and the request's end (`RequestScope.at_end`, after the
commit) ends the PHP script, so the plugin's shutdown function runs exactly when it would on a real vtiger.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

from sandbox.vtiger.workflows import Task, WorkflowRun
from tests.plugin.test_php_plugin import PHP, Vtiger

REQUEST = Path(__file__).resolve().parent / "php_request.php"
_STATE = "php"


class PluginTasks:
    def __init__(self, vtiger: Vtiger, bridge_url: str = "") -> None:
        self.vtiger = vtiger
        self.bridge_url = bridge_url
        self.calls: list[dict[str, Any]] = []  # every function call's report, in order
        self.ends: list[dict[str, Any]] = []  # every request end's report
        self._lock = threading.Lock()

    def task(self, function: str, *, send_now: bool = False) -> Task:
        """`send_now`: deliver the event at once, inside the save (as an older plugin did)."""

        def run(wf: WorkflowRun) -> None:
            proc = wf.request.state.get(_STATE)
            if proc is None:
                proc = subprocess.Popen(
                    [PHP or "php", str(REQUEST), str(self.vtiger.plugin_dir / "SocialBridge.php")],
                    cwd=self.vtiger.root,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    encoding="utf-8",
                )
                wf.request.state[_STATE] = proc
                wf.request.at_end(lambda: self._end(proc))
            message = {
                "call": function,
                "id": wf.record_id,
                "module": wf.module,
                "data": wf.data,
                "delta": wf.delta,
                "is_new": wf.is_new,
            }
            reply = self._ask(proc, message)
            assert reply["threw"] is None and reply["printed"] == "", reply
            with self._lock:
                self.calls.append({"function": function, "committed": wf.committed, **reply})
            if send_now:
                reply = self._ask(proc, {"send_now": True})
                assert reply["threw"] is None and reply["printed"] == "", reply

        return run

    @staticmethod
    def _ask(proc: subprocess.Popen[str], message: dict[str, Any]) -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(message, ensure_ascii=False) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"php ended unexpectedly: {proc.stderr.read() if proc.stderr else ''}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _end(self, proc: subprocess.Popen[str]) -> None:
        out, err = proc.communicate(json.dumps({"end": True}) + "\n", timeout=60)
        assert proc.returncode == 0 and err == "", (proc.returncode, err)
        reply = json.loads(out.strip().splitlines()[-1])
        assert reply["printed"] == "", reply
        with self._lock:
            self.ends.append(reply)
