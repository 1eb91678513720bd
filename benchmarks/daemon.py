"""Daemon memory and start-up time with a large CRM: `python -m benchmarks.daemon [--records 100000]`.

Starts the real daemon (`python run_bridge.py -c CONFIG run`) as a subprocess against the vtiger sandbox
three times: with an empty CRM (idle); with N contacts holding a VK link (seeded directly, no HTTP, saved an
hour before) and an empty state file (first start: the URL index is built behind the webhook); and again on
that state file (restart: the index catches up by modifiedtime). Each time: seconds to "webhook listening"
and the vtiger requests before it (the daemon's own count, in that log line); seconds to "URL index ready"
and the requests by then; VmRSS and VmHWM from /proc/<pid>/status then. Goals: <= 150 MB with a
100,000-record index; a restart listens within 2 s after <= 20 vtiger requests; a first start costs no
more requests than before the index moved behind the webhook. Exit status 0 when every goal is met.
"""

from __future__ import annotations

import datetime as dt
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
COLD_GOAL = 1013  # vtiger requests of a first start before issue 14 (benchmarks/REPORT.md): no more now


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
    """One daemon start: when the webhook listened and with how many vtiger requests before it (the
    daemon's own count, in its "webhook listening" line), when the URL index was ready and the requests
    by then, and memory then."""

    def __init__(self, config: Path, crm: BenchVtigerSandbox) -> None:
        self.lines: list[str] = []
        self.listening = threading.Event()
        self.ready = threading.Event()
        self.listen_requests = 0
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
            if not ok:
                raise RuntimeError("the daemon did not start:\n" + "".join(self.lines[-20:]))
            ok = self.ready.wait(START_TIMEOUT)
            self.ready_seconds = time.monotonic() - started
            self.ready_requests = crm.count()
            if not ok:
                raise RuntimeError("the URL index was not ready:\n" + "".join(self.lines[-20:]))
            self.memory = proc_status(self.proc.pid)
            self.progress_lines = sum(1 for ln in self.lines if "URL index: " in ln and "records read" in ln)
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
            listening = re.search(r"webhook listening on http://\S+ \((\d+) vtiger requests", line)
            if listening:
                self.listen_requests = int(listening.group(1))
                self.listening.set()
            if "URL index ready" in line:
                self.ready.set()


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="contacts with a VK link")
    parser.add_argument("--goal-mb", type=float, default=150.0)
    args = parser.parse_args()
    figures: list[Figure] = []
    latency = f"vtiger latency: {args.vtiger_latency}"
    with (
        tempfile.TemporaryDirectory() as tmp_name,
        vtiger_sandbox(args.vtiger_latency) as crm,
        VkSandbox() as vk,
    ):
        idle_dir, big_dir = Path(tmp_name) / "idle", Path(tmp_name) / "big"
        idle_dir.mkdir()
        big_dir.mkdir()
        idle = Run(write_config(idle_dir, crm, vk), crm)
        figures += [
            Figure("idle: RSS", idle.memory["VmRSS"] / 1024, "MB", note=f"exit code {idle.exit_code}"),
            Figure("idle: peak RSS (VmHWM)", idle.memory["VmHWM"] / 1024, "MB"),
            Figure("idle: start-up", idle.seconds, "s", note="process start to 'webhook listening'"),
            Figure(
                "idle: vtiger requests before listening", idle.listen_requests, note="login, schema, probe"
            ),
        ]
        # An hour ago, as most of a CRM is: the warm start's catch-up then finds nothing new to read.
        crm.set_time(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        for i in range(args.records):
            crm.seed("Contacts", {"lastname": f"Bulk{i}", "vk_url": f"https://vk.com/id{100000 + i}"})
        crm.set_time(None)  # the live clock again
        label = f"{args.records:,} records"
        config = write_config(big_dir, crm, vk)
        cold = Run(config, crm)  # empty state file: the whole index is built behind the webhook
        pages = -(-args.records // 100) + 1  # the last, empty page ends the walk
        rss, hwm = cold.memory["VmRSS"] / 1024, cold.memory["VmHWM"] / 1024
        figures += [
            Figure(
                f"{label}, first start: RSS", rss, "MB", goal=args.goal_mb, note=f"exit code {cold.exit_code}"
            ),
            Figure(f"{label}, first start: peak RSS (VmHWM)", hwm, "MB", goal=args.goal_mb),
            Figure(
                f"{label}, first start: webhook listening",
                cold.seconds,
                "s",
                note=f"{cold.listen_requests} vtiger requests before it; the index is built behind it",
            ),
            Figure(
                f"{label}, first start: URL index built",
                cold.ready_seconds,
                "s",
                note=f"{cold.progress_lines} progress lines in the log; {latency}",
            ),
            Figure(
                f"{label}, first start: vtiger requests until the index is built",
                cold.ready_requests,
                goal=COLD_GOAL,
                note=f"{pages} index pages of 100; before issue 14 the webhook waited for all of them "
                "(1,013 requests)",
            ),
        ]
        warm = Run(config, crm)  # the index is in the state file now
        figures += [
            Figure(
                f"{label}, restart: webhook listening",
                warm.seconds,
                "s",
                goal=2,
                note="process start to 'webhook listening', the index in the state file",
            ),
            Figure(
                f"{label}, restart: vtiger requests before listening",
                warm.listen_requests,
                goal=20,
                note="login, schema check, probe",
            ),
            Figure(
                f"{label}, restart: URL index caught up",
                warm.ready_seconds,
                "s",
                note=f"{warm.ready_requests} vtiger requests by then (catch-up by modifiedtime); {latency}",
            ),
            Figure(f"{label}, restart: RSS", warm.memory["VmRSS"] / 1024, "MB", goal=args.goal_mb),
        ]
    print_table(f"Daemon memory and start-up (vtiger latency: {args.vtiger_latency})", figures)
    extra = {"records": args.records, "vtiger_latency": args.vtiger_latency}
    return finish("daemon", figures, args.json, extra)


if __name__ == "__main__":
    raise SystemExit(main())
