"""VK messages into the CRM by long polling, through the daemon: `python -m benchmarks.longpoll_latency`.

    python -m benchmarks.longpoll_latency [--messages 200] [--senders 50] [--kills 2] [--wait 25]

The real bridge (`run_bridge.py -c CONFIG run`) as a subprocess, configured as a user would for a community
token (`networks.vk.intake` left at auto = longpoll, `longpoll_wait`, the scheduled import every 5 min as the
catch-up), against the vtiger sandbox with a real SalesPlatform's timing (`--vtiger-latency realistic`, the
default here) and the VK sandbox, whose Bots Long Poll server holds polls open as VK does.

Burst: `--messages` messages from `--senders` clients (each a CRM contact with a `vk.com/<name>` link) are
written into the VK sandbox at `--rate` per second. The daemon is killed with SIGKILL `--kills` times during
the burst (after 1/3 and 2/3 of it) and started again at once. Latency of a message = from its write in the
VK sandbox to the moment its SPSocialConnector record exists in the vtiger sandbox (looked at every 20 ms
in-process, which costs no vtiger request). Then lost (never recorded) and duplicated (recorded twice)
messages are counted.

Idle: with the daemon settled, VK and vtiger requests are counted over `--idle-periods` long-poll `wait`
periods. Goals (issue 14): p95 <= 3 s, 0 duplicates, 0 lost, <= 1 VK request per `wait`, 0 vtiger requests.
Exit status 0 when every goal is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from benchmarks._common import BenchVtigerSandbox, Figure, base_parser, finish, print_table, vtiger_sandbox
from benchmarks.send_burst import Daemon as BurstDaemon
from sandbox.vk import VkSandbox

SECRET = "benchmark-webhook-secret-0123456789"
STARTED = "long polling (held up to"  # the daemon's log line once its stream runs


def write_config(tmp: Path, crm: BenchVtigerSandbox, vk: VkSandbox, wait: int) -> Path:
    text = f"""version: 1
vtiger: {{url: "{crm.url}", username: admin, access_key: "{crm.access_key}"}}
networks:
  vk: {{enabled: true, token: "{vk.community_token}", group_id: {vk.group_id}, api_url: "{vk.url}",
        longpoll_wait: {wait}}}
webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{tmp / "state.sqlite3"}"}}
"""
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class Daemon(BurstDaemon):
    """`run_bridge.py -c CONFIG run` (started as `send_burst` starts it); `streaming` is set once the log says
    the long-poll stream started."""

    def __init__(self, config: Path) -> None:
        self.streaming = threading.Event()
        super().__init__(config)

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if "webhook listening on " in line:
                self.listening.set()
            if STARTED in line:
                self.streaming.set()

    def wait_streaming(self, timeout: float = 120) -> None:
        if not self.streaming.wait(timeout):
            self.kill()
            raise RuntimeError("the daemon's stream did not start:\n" + "".join(self.lines[-20:]))

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


class Watcher:
    """When each VK message's CRM record first existed, and how many records each has (in-process reads)."""

    def __init__(self, crm: BenchVtigerSandbox) -> None:
        self.crm = crm
        self.seen: dict[int, float] = {}
        self.copies: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.look()

    def look(self) -> None:
        now = time.monotonic()
        copies: Counter[int] = Counter()
        for record in self.crm.records("SPSocialConnector"):
            if record.get("vk_message_id"):
                copies[int(record["vk_message_id"])] += 1
        for message_id in copies:
            self.seen.setdefault(message_id, now)
        self.copies = copies

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.look()


def seed(crm: BenchVtigerSandbox, vk: VkSandbox, senders: int) -> list[int]:
    uids = []
    for n in range(senders):
        uid = vk.add_user("Клиент", f"Номер{n}", screen_name=f"lp_client_{n}")
        crm.seed(
            "Contacts",
            {"lastname": f"Номер{n}", "assigned_user_id": "19x1", "vk_url": f"https://vk.com/lp_client_{n}"},
        )
        uids.append(uid)
    return uids


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else 0.0


def run(args: argparse.Namespace, tmp: Path, crm: BenchVtigerSandbox, vk: VkSandbox) -> list[Figure]:
    messages, senders, kills, wait = args.messages, args.senders, args.kills, args.wait
    rate, periods = args.rate, args.idle_periods
    uids = seed(crm, vk, senders)
    config = write_config(tmp, crm, vk, wait)
    daemon = Daemon(config)
    daemon.wait_streaming()
    watcher = Watcher(crm)
    written: dict[int, float] = {}
    down: set[int] = set()  # messages written while no stream ran (between a kill and the next start)
    kill_at = {messages * (k + 1) // (kills + 1) for k in range(kills)}
    restarts: list[float] = []
    is_down = threading.Event()

    def restart() -> None:
        nonlocal daemon
        started = time.monotonic()
        daemon = Daemon(config)
        daemon.wait_streaming()
        restarts.append(time.monotonic() - started)
        is_down.clear()

    restarter: threading.Thread | None = None
    for n in range(messages):
        if n in kill_at:
            if restarter is not None:
                restarter.join()
            is_down.set()
            daemon.kill()
            restarter = threading.Thread(target=restart)
            restarter.start()
        message_id = vk.incoming(uids[n % senders], f"Сообщение {n}: когда будет готов заказ?")
        written[message_id] = time.monotonic()
        if is_down.is_set():
            down.add(message_id)
        time.sleep(1 / rate)
    if restarter is not None:
        restarter.join()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not set(written) <= set(watcher.seen):
        time.sleep(0.1)
    watcher.stop()
    latencies = [watcher.seen[m] - at for m, at in written.items() if m in watcher.seen]
    streamed = [watcher.seen[m] - at for m, at in written.items() if m in watcher.seen and m not in down]
    lost = len(set(written) - set(watcher.seen))
    duplicates = sum(n - 1 for n in watcher.copies.values() if n > 1)

    # idle: nothing is written; the stream holds one poll per `wait`, the catch-up import runs every 5 min
    time.sleep(1.0)
    vk_before, crm_before = Counter(vk.counters), crm.count()
    time.sleep(periods * wait)
    vk_idle = Counter(vk.counters) - vk_before
    crm_idle = crm.count() - crm_before
    stopping = time.monotonic()
    daemon.stop()
    stop_seconds = time.monotonic() - stopping
    return [
        Figure("messages written", len(written), note=f"from {senders} senders at {rate:g}/s"),
        Figure("write -> CRM record p50", statistics.median(latencies) if latencies else 0.0, "s"),
        Figure("write -> CRM record p95", percentile(latencies, 0.95), "s", goal=3.0),
        Figure("write -> CRM record max", max(latencies, default=0.0), "s", note="includes the restarts"),
        Figure(
            "p95 while the daemon ran",
            percentile(streamed, 0.95),
            "s",
            note=f"{len(down)} message(s) were written while it was down",
        ),
        Figure("lost", lost, goal=0, op="=="),
        Figure("duplicates", duplicates, goal=0, op="=="),
        Figure(
            "daemon kills (SIGKILL) during the burst",
            kills,
            note="restart to stream polling: " + ", ".join(f"{s:.1f} s" for s in restarts),
        ),
        Figure(
            "idle VK requests per wait period",
            sum(vk_idle.values()) / periods,
            goal=1.0,
            note=f"{dict(vk_idle)} over {periods} x {wait} s; the 5-min catch-up import adds 1 per 5 min",
        ),
        Figure("idle vtiger requests", crm_idle, goal=0, op="==", note=f"over {periods * wait} s"),
        Figure("SIGTERM to exit, a poll held", stop_seconds, "s", note=f"the poll is held up to {wait} s"),
    ]


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.set_defaults(vtiger_latency="realistic")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2.0, help="messages written per second")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs of the daemon during the burst")
    parser.add_argument("--wait", type=int, default=25, help="networks.vk.longpoll_wait (seconds)")
    parser.add_argument(
        "--idle-periods", type=int, default=3, help="wait periods the idle cost is counted over"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, vtiger_sandbox(args.vtiger_latency) as crm, VkSandbox() as vk:
        figures = run(args, Path(tmp), crm, vk)
    print_table(
        f"VK long poll: {args.messages} messages to CRM records (vtiger latency: {args.vtiger_latency})",
        figures,
    )
    extra = {k: getattr(args, k) for k in ("messages", "senders", "rate", "kills", "wait", "vtiger_latency")}
    return finish("longpoll_latency", figures, args.json, extra)


if __name__ == "__main__":
    raise SystemExit(main())
