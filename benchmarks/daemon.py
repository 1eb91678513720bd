"""Daemon memory and start-up time with a large CRM: `python -m benchmarks.daemon [--records 100000]`.

Seeds N contacts with a VK link into the vtiger sandbox (directly, no HTTP), starts the real daemon
(`python run_bridge.py -c CONFIG run`) as a subprocess against it, and once "webhook listening" is logged
reads VmRSS and VmHWM from /proc/<pid>/status. Start-up is reported in seconds and per vtiger request
it took (the URL index is read in pages of 100). Done twice: with an empty CRM (idle) and with N records.
Goal: <= 150 MB with a 100,000-record URL index. Exit status 0 when every goal is met, 1 otherwise.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._common import BenchVtigerSandbox, Figure, base_parser, finish, print_table, vtiger_sandbox
from sandbox.vk import VkSandbox

ROOT = Path(__file__).resolve().parents[1]
SECRET = "benchmark-webhook-secret-0123456789"
START_TIMEOUT = 900.0  # seconds; 100,000 records at realistic latency take well under this


def write_config(tmp: Path, crm: BenchVtigerSandbox, vk: VkSandbox) -> Path:
    text = f"""version: 1
vtiger: {{url: "{crm.url}", username: admin, access_key: "{crm.access_key}"}}
networks:
  vk: {{enabled: true, token: "{vk.community_token}", group_id: {vk.group_id}, api_url: "{vk.url}",
        imports: {{interval_minutes: 60}}}}
webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{tmp / "state.sqlite3"}"}}
"""
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of `pid` in kB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


class Run:
    """One daemon start: seconds to "webhook listening", vtiger requests by then, memory then."""

    def __init__(self, config: Path, crm: BenchVtigerSandbox) -> None:
        self.lines: list[str] = []
        self.listening = threading.Event()
        crm.reset_log()
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "run_bridge.py", "-c", str(config), "run"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        reader = threading.Thread(target=self._drain, daemon=True)
        reader.start()
        try:
            ok = self.listening.wait(START_TIMEOUT)
            self.seconds = time.monotonic() - started
            self.vtiger_requests = crm.count()
            if not ok:
                raise RuntimeError("the daemon did not start:\n" + "".join(self.lines[-20:]))
            self.memory = proc_status(self.proc.pid)
        finally:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.exit_code = self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.exit_code = self.proc.wait()
                tail = "".join(self.lines[-15:])
                print(f"the daemon ignored SIGTERM for 20 s; its last log lines:\n{tail}", file=sys.stderr)
            reader.join(timeout=10)
            if self.proc.stderr is not None:
                self.proc.stderr.close()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if re.search(r"webhook listening on http://", line):
                self.listening.set()


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="contacts with a VK link")
    parser.add_argument("--goal-mb", type=float, default=150.0)
    args = parser.parse_args()
    figures: list[Figure] = []
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        vtiger_sandbox(args.vtiger_latency) as crm,
        VkSandbox() as vk,
    ):
        for label, records in (("idle", 0), (f"{args.records:,} records", args.records)):
            tmp = Path(tmp_name) / f"run{records}"
            tmp.mkdir()
            seeded = len(crm.records("Contacts"))
            for i in range(seeded, records):
                crm.seed("Contacts", {"lastname": f"Bulk{i}", "vk_url": f"https://vk.com/id{100000 + i}"})
            run = Run(write_config(tmp, crm, vk), crm)
            rss, hwm = run.memory["VmRSS"] / 1024, run.memory["VmHWM"] / 1024
            goal = args.goal_mb if records else None
            pages = -(-records // 100) + 1  # the last, empty page ends the walk
            figures += [
                Figure(f"{label}: RSS", rss, "MB", goal=goal, note=f"exit code {run.exit_code}"),
                Figure(f"{label}: peak RSS (VmHWM)", hwm, "MB", goal=goal),
                Figure(f"{label}: start-up", run.seconds, "s", note="process start to 'webhook listening'"),
                Figure(
                    f"{label}: vtiger requests at start-up",
                    run.vtiger_requests,
                    note=f"{pages} of them index pages of 100" if records else "login, schema, probe",
                ),
                Figure(
                    f"{label}: start-up ms per vtiger request",
                    1000 * run.seconds / run.vtiger_requests,
                    "ms",
                    note=f"vtiger latency: {args.vtiger_latency}",
                ),
            ]
    print_table(f"Daemon memory and start-up (vtiger latency: {args.vtiger_latency})", figures)
    extra = {"records": args.records, "vtiger_latency": args.vtiger_latency}
    return finish("daemon", figures, args.json, extra)


if __name__ == "__main__":
    raise SystemExit(main())
