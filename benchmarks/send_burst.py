"""A burst of sends through the entry points users run, timed at VK: `python -m benchmarks.send_burst`.

    python -m benchmarks.send_burst [--sends 500] [--vtiger-latency realistic]

Both runs use the real bridge as a subprocess against the vtiger sandbox and a VK sandbox that enforces
20 requests/s per token with error 6, the bridge configured as `benchmarks/daemon.py` does (default
`networks.vk.rate_limit`, 20, and `jobs.outbox_interval_seconds`, 60 s), one contact per send with a
`vk.com/id…` link:

* webhook: `run_bridge.py run`; N signed `send` events from 8 concurrent clients (signed webhook ->
  event store -> outbox -> VK). Start: the first POST.
* CLI: `run_bridge.py send --where "mailingcity = '…'" --yes` to N contacts. Start: the CLI's first
  `retrieve` (the first send being queued; login, schema check and the filter's query pages come before).

Figures: messages in the VK sandbox's ledger (each contact exactly once), error-6 answers, and the drain
rate = N / (the last `messages.send` VK received - start), divided by the configured 20/s (goal >= 0.9;
the limiter runs at 0.95 of it, `providers/vk/rate.py`); then when the last CRM record was there (for the
webhook: from the last event accepted to the last record linked) and vtiger requests per send from the
start on (goal <= 3: read the record, create the message, link it). Exit status 0 when every goal is met,
1 otherwise.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from benchmarks._common import BenchVtigerSandbox, Figure, base_parser, finish, print_table, vtiger_sandbox
from benchmarks.daemon import SECRET, write_config  # networks.vk.rate_limit left at its default, 20
from bridge.webhook.signing import sign
from sandbox.vk import VkSandbox

ROOT = Path(__file__).resolve().parents[1]
VK_RATE = 20  # what the VK sandbox enforces, and the bridge's default `networks.vk.rate_limit`
CLIENTS = 8
Wait = float | None  # seconds to wait for a run; None: from the number of sends


@dataclass
class Outcome:
    label: str
    sends: int
    started: float = 0.0  # time.time() of the start the drain rate is measured from
    delivered: int = 0
    peers: int = 0
    send_requests: int = 0
    last_delivery: float = 0.0
    first_delivery: float = 0.0
    recorded: int = 0
    recorded_at: float = 0.0
    error6: int = 0
    vtiger_requests: int = 0
    accepted: int = 0
    accept_seconds: float = 0.0
    note: str = ""
    counted: str = ""  # what the vtiger request count covers
    ops: str = ""  # the counted requests per operation
    before: int = 0  # vtiger requests of the run before its first send (the CLI's login, filter pages)

    def figures(self) -> list[Figure]:
        span = self.last_delivery - self.started
        rate = self.sends / span if self.delivered == self.sends and span > 0 else 0.0
        between = self.last_delivery - self.first_delivery
        steady = (self.delivered - 1) / between if self.delivered > 1 and between > 0 else 0.0
        p = self.label
        figures = []
        if self.accepted:
            figures.append(
                Figure(
                    f"{p}: events accepted (202)",
                    self.accepted,
                    goal=self.sends,
                    op="==",
                    note=f"in {self.accept_seconds:.2f} s from {CLIENTS} clients",
                )
            )
        figures += [
            Figure(
                f"{p}: messages in VK's ledger",
                self.delivered,
                goal=self.sends,
                op="==",
                note=f"to {self.peers} distinct contacts; {self.send_requests} messages.send requests",
            ),
            Figure(f"{p}: error-6 answers", self.error6, goal=0, op="=="),
            Figure(
                f"{p}: drain rate / VK rate limit",
                rate / VK_RATE,
                goal=0.9,
                op=">=",
                note=f"{self.sends} sends in {span:.2f} s = {rate:.2f}/s against {VK_RATE}/s; {self.note}",
            ),
            Figure(
                f"{p}: rate between first and last delivery / limit",
                steady / VK_RATE,
                note=f"{steady:.2f}/s; the first went out "
                f"{self.first_delivery - self.started:.2f} s after start",
            ),
            Figure(
                f"{p}: CRM records",
                self.recorded,
                goal=self.sends,
                op="==",
                note=f"the last linked {self.recorded_at - self.started:.2f} s after start, "
                f"{self.recorded_at - self.last_delivery:.2f} s after the last delivery",
            ),
            Figure(
                f"{p}: vtiger requests per send",
                self.vtiger_requests / self.sends,
                goal=3,
                note=f"{self.counted}: {self.ops}",
            ),
        ]
        if self.accepted:
            pace = self.sends / VK_RATE
            figures.insert(
                -1,
                Figure(
                    f"{p}: all accepted -> all recorded",
                    self.recorded_at - self.started - self.accept_seconds,
                    "s",
                    note=f"the last 202 to the last record linked; {self.sends} sends at VK's "
                    f"{VK_RATE}/s take {pace:.1f} s",
                ),
            )
        if self.before:
            figures.append(
                Figure(
                    f"{p}: vtiger requests before the first send",
                    self.before,
                    note="login, schema check, the filter's id pages",
                )
            )
        return figures


def seed(crm: BenchVtigerSandbox, vk: VkSandbox, count: int, city: str) -> list[str]:
    records = []
    for n in range(count):
        uid = vk.add_user("Burst", f"{city}{n}")
        records.append(
            crm.seed(
                "Contacts",
                {
                    "lastname": f"{city}{n}",
                    "assigned_user_id": "19x1",
                    "mailingcity": city,
                    "vk_url": f"https://vk.com/id{uid}",
                },
            )
        )
    return records


def measure(
    outcome: Outcome,
    crm: BenchVtigerSandbox,
    vk: VkSandbox,
    text: str,
    timeout: float | None,
    started: Callable[[], float],
) -> None:
    """Wait for every send to be delivered and recorded (or the timeout), then read the sandboxes."""
    deadline = time.monotonic() + (outcome.sends / VK_RATE * 4 + 120 if timeout is None else timeout)

    def messages() -> list[dict[str, object]]:
        return [r for r in crm.records("SPSocialConnector") if r["message"] == text]

    # Polled through a counter: reading the records would hold the sandbox (in this process) and slow
    # the very requests being measured. Each send's record is linked once, at its end.
    while time.monotonic() < deadline and crm.count("add_related") < outcome.sends:
        time.sleep(0.2)
    outcome.recorded = len(messages())
    links = [r.received_at for r in list(crm.requests) if r.operation == "add_related"]
    outcome.recorded_at = max(links, default=0.0)  # a record is complete once linked to its contact
    with vk._lock:  # the ledger: what our token sent through the API
        ours = [m for m in vk.world.messages if m.via_api and m.text == text]
    outcome.delivered, outcome.peers = len(ours), len({m.peer_id for m in ours})
    sends = sorted(r.received_at for r in list(vk.requests) if r.operation == "messages.send")
    outcome.send_requests = len(sends)
    outcome.first_delivery, outcome.last_delivery = (sends[0], sends[-1]) if sends else (0.0, 0.0)
    outcome.error6 = vk.rate_limited
    outcome.started = started()
    # From the start on: what the sends cost (a CLI's login and filter pages come before and are shown apart).
    counted = Counter(r.operation for r in list(crm.requests) if r.received_at >= outcome.started)
    outcome.vtiger_requests = sum(counted.values())
    outcome.before = crm.count() - outcome.vtiger_requests
    outcome.ops = ", ".join(f"{op} {n}" for op, n in sorted(counted.items()))


class Daemon:
    def __init__(self, config: Path) -> None:
        self.lines: list[str] = []
        self.url = ""
        self.listening = threading.Event()
        self.index_ready = threading.Event()  # built behind the webhook (bridge/daemon/index_start.py)
        self.proc = subprocess.Popen(
            [sys.executable, "run_bridge.py", "-c", str(config), "run"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        threading.Thread(target=self._drain, daemon=True).start()
        if not self.listening.wait(120):
            self.stop()
            raise RuntimeError("the daemon did not start:\n" + "".join(self.lines[-20:]))

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if "webhook listening on " in line:
                self.url = line.split("webhook listening on ", 1)[1].split()[0]
                self.listening.set()
            if "URL index ready" in line:
                self.index_ready.set()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def post(session: requests.Session, url: str, record: str, n: int, text: str) -> int:
    body = json.dumps(
        {"event": "send", "module": "Contacts", "id": record, "event_id": f"burst-{n}", "text": text}
    ).encode("utf-8")
    headers = {"Content-Type": "application/json", **sign(SECRET, body, int(time.time()))}
    return session.post(f"{url}/v1/vtiger/events", data=body, headers=headers, timeout=30).status_code


def webhook_run(tmp: Path, crm: BenchVtigerSandbox, vk: VkSandbox, sends: int, timeout: Wait) -> Outcome:
    records = seed(crm, vk, sends, "Webhookville")
    daemon = Daemon(write_config(tmp, crm, vk))
    outcome, text = Outcome("webhook", sends), "webhook burst"
    try:
        if not daemon.index_ready.wait(120):  # its pages are the start-up's, not the sends'
            raise RuntimeError("the URL index was not built:\n" + "".join(daemon.lines[-20:]))
        crm.reset_log()
        vk.reset_log()
        vk.rate_limited = 0
        sessions = [requests.Session() for _ in range(CLIENTS)]
        t0 = time.time()
        with ThreadPoolExecutor(CLIENTS) as pool:
            codes = list(
                pool.map(lambda n: post(sessions[n % CLIENTS], daemon.url, records[n], n, text), range(sends))
            )
        outcome.accept_seconds = time.time() - t0
        outcome.accepted = codes.count(202)
        measure(outcome, crm, vk, text, timeout, started=lambda: t0)
    finally:
        code = daemon.stop()
    outcome.note = f"daemon exit code {code}"
    outcome.counted = "every request from the first POST on (the start-up and its index build before)"
    return outcome


def cli_run(tmp: Path, crm: BenchVtigerSandbox, vk: VkSandbox, sends: int, timeout: Wait) -> Outcome:
    seed(crm, vk, sends, "Cliville")
    config = write_config(tmp, crm, vk)
    outcome, text = Outcome("CLI send --where", sends), "cli burst"
    crm.reset_log()
    vk.reset_log()
    vk.rate_limited = 0
    t0 = time.time()
    proc = subprocess.run(
        [
            sys.executable,
            "run_bridge.py",
            "-c",
            str(config),
            "send",
            "--where",
            "mailingcity = 'Cliville'",
            "--text",
            text,
            "--yes",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout or sends / VK_RATE * 4 + 300,
    )

    def first_queued() -> float:
        retrieves = [r.received_at for r in list(crm.requests) if r.operation == "retrieve"]
        return min(retrieves) if retrieves else t0

    measure(outcome, crm, vk, text, timeout=10, started=first_queued)
    outcome.note = (
        f"exit code {proc.returncode}; the first send was queued "
        f"{outcome.started - t0:.2f} s after the CLI started"
    )
    outcome.counted = "every request from the first send's retrieve on"
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
    return outcome


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=500, help="sends per burst")
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait for a run (default: 4x the time the sends take at the limit, + 120 s)",
    )
    args = parser.parse_args()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        for name, run in (("webhook", webhook_run), ("cli", cli_run)):
            tmp = Path(tmp_name) / name
            tmp.mkdir()
            # Fresh sandboxes and state per run: message ids and outbox ids start over with each.
            with vtiger_sandbox(args.vtiger_latency) as crm, VkSandbox(rate_limit=VK_RATE) as vk:
                figures += run(tmp, crm, vk, args.sends, args.timeout).figures()
    print_table(
        f"A burst of {args.sends} sends, VK at {VK_RATE}/s (vtiger latency: {args.vtiger_latency})", figures
    )
    extra = {"sends": args.sends, "vtiger_latency": args.vtiger_latency}
    return finish("send_burst", figures, args.json, extra)


if __name__ == "__main__":
    raise SystemExit(main())
