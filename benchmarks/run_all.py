"""Run every benchmark of the project and write `benchmarks/REPORT.md`: `python -m benchmarks.run_all`.

Each benchmark runs as its own process (`python -m benchmarks.<name>`), the vtiger sandbox with a
real server's timing where the benchmark supports it (sandbox/vtiger/latency.py, measured on a
SalesPlatform 7.2 with tools/real-vtiger/latency.py). Benchmarks of this package hand their figures over
as JSON; `vtiger_client` and `webhook` print text, from which the figures are read. `--quick` shrinks
every workload for a smoke run. Exit status 0 when every goal of every benchmark is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._common import REALISTIC_LATENCY, Figure, fmt, machine_info

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "REPORT.md"


@dataclass
class Bench:
    name: str
    args: list[str]
    quick: list[str]
    timeout: float
    latency: bool  # takes --vtiger-latency
    json: bool  # writes --json
    what: str
    figures: list[Figure] = field(default_factory=list)
    exit_code: int | None = None
    seconds: float = 0.0
    error: str = ""


def benches() -> list[Bench]:
    return [
        Bench(
            "providers",
            [],
            ["--profiles", "1000", "--send-seconds", "2"],
            300,
            False,
            True,
            "VK batching and send rate against VK's limit; X and Facebook requests per operation",
        ),
        Bench(
            "messengers",
            [],
            ["--sends", "10"],
            300,
            False,
            True,
            "Telegram and MAX bot providers: requests per send, per idle long poll, per settled send",
        ),
        Bench(
            "bridge_services",
            [],
            ["--contacts", "1000"],
            900,
            True,
            True,
            "requests per import run, message, send and backfilled record",
        ),
        Bench(
            "cli_backfill",
            [],
            ["--contacts", "500"],
            900,
            True,
            True,
            "`backfill-profiles` of 3,000 Contacts through the CLI: pages read, VK requests, writes",
        ),
        Bench(
            "daemon",
            [],
            ["--records", "10000"],
            1800,
            True,
            True,
            "daemon memory and start-up with a 100,000-record URL index: a first start and a restart",
        ),
        Bench(
            "send_burst",
            [],
            ["--sends", "100"],
            900,
            True,
            True,
            "a burst of 500 sends through the daemon's signed webhook and through the CLI's "
            "`send --where`, timed at the VK sandbox enforcing 20 requests/s",
        ),
        Bench(
            "vtiger_client",
            [],
            ["--records", "200", "--walks", "2"],
            900,
            False,
            False,
            "vtiger_ws requests per operation and overhead against bare `requests` (own sandboxes, "
            "no latency knob)",
        ),
        # The real SQLite state store: an event counts as accepted once it is durably committed.
        Bench(
            "webhook",
            ["--store", "sqlite"],
            ["--requests", "1000", "--rounds", "1"],
            900,
            False,
            False,
            "webhook throughput and p99 latency (events committed to the SQLite state store) against a "
            "bare waitress endpoint",
        ),
        Bench("longpoll_latency", [], ["--messages", "40"], 900, True, True, "VK long poll to CRM records"),
    ]


def parse_vtiger_client(out: str) -> list[Figure]:
    figures: list[Figure] = []
    for phase, requests in re.findall(r"^(create|retrieve|revise|query_iter)\s+(\d+)\s", out, re.M):
        figures.append(
            Figure(f"HTTP requests: {phase}", int(requests), note="per phase (query_iter: per walk)")
        )
    total = re.search(r"^total\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out, re.M)
    if total:
        figures.append(
            Figure(
                "client/bare wall-time ratio",
                float(total.group(3)),
                goal=1.2,
                note=f"client {total.group(1)} s, bare {total.group(2)} s",
            )
        )
        figures.append(
            Figure(
                "client/bare CPU ratio",
                float(total.group(6)),
                note=f"client {total.group(4)} s, bare {total.group(5)} s",
            )
        )
    return figures


def parse_webhook(out: str) -> list[Figure]:
    figures: list[Figure] = []
    rate = re.search(r"accepted events/s \(median\): ([\d.]+)", out)
    if rate:
        figures.append(
            Figure("accepted events/s (median)", float(rate.group(1)), "ev/s", note="32 concurrent clients")
        )
    ratio = re.search(r"p99 ratio webhook/bare \(median of (\d+)\): ([\d.]+)", out)
    if ratio:
        figures.append(
            Figure(
                "p99 latency webhook/bare",
                float(ratio.group(2)),
                goal=2,
                note=f"median of {ratio.group(1)} rounds",
            )
        )
    lost = sum(int(n) for n in re.findall(r"WARNING: (\d+) requests were not accepted", out))
    figures.append(Figure("requests not accepted", lost, goal=0, op="=="))
    return figures


def run(bench: Bench, quick: bool, latency: str, tmp: Path) -> None:
    cmd = [sys.executable, "-m", f"benchmarks.{bench.name}", *bench.args, *(bench.quick if quick else [])]
    out_json = tmp / f"{bench.name}.json"
    if bench.json:
        cmd += ["--json", str(out_json)]
    if bench.latency:
        cmd += ["--vtiger-latency", latency]
    print(f"\n=== {' '.join(cmd[1:])}", flush=True)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            cmd,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=bench.timeout,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    except subprocess.TimeoutExpired:
        bench.seconds, bench.error = time.monotonic() - started, f"timed out after {bench.timeout:.0f} s"
        print(bench.error)
        return
    bench.seconds, bench.exit_code = time.monotonic() - started, proc.returncode
    print(proc.stdout)
    if proc.returncode not in (0, 1) or (bench.json and not out_json.exists()):
        bench.error = f"exit code {proc.returncode}: " + proc.stderr.strip()[-800:]
        print(proc.stderr[-3000:], file=sys.stderr)
    if bench.json and out_json.exists():
        data = json.loads(out_json.read_text(encoding="utf-8"))
        bench.figures = [Figure(**{k: v for k, v in f.items() if k != "met"}) for f in data["figures"]]
    elif bench.name == "vtiger_client":
        bench.figures = parse_vtiger_client(proc.stdout)
    elif bench.name == "webhook":
        bench.figures = parse_webhook(proc.stdout)
    if not bench.json and not bench.figures and not bench.error:
        bench.error = "no figures found in its output"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report(results: list[Bench], quick: bool, latency: str) -> str:
    info = machine_info()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    goals = [f for b in results for f in b.figures if f.goal is not None]
    missed = [(b.name, f) for b in results for f in b.figures if f.met is False]
    lines = [
        "# Benchmark report",
        "",
        f"Written by `python -m benchmarks.run_all{' --quick' if quick else ''}` on {info['date']}.",
        "",
        f"* Machine: {info['cpu']}, {info['cpus']} CPUs, {info['memory']} RAM; {info['platform']}; "
        f"Python {info['python']}; load average at the end {load} (the machine is shared: wall times vary, "
        "counts do not).",
        f"* vtiger sandbox latency: **{latency}**"
        + (" — " + REALISTIC_LATENCY.summary() if latency == "realistic" else "")
        + ".",
        f"* Goals met: **{len(goals) - len(missed)} of {len(goals)}**"
        + ("; missed: " + "; ".join(f"{n}: {f.name}" for n, f in missed) if missed else "")
        + ".",
        "",
    ]
    for bench in results:
        status = bench.error or f"exit code {bench.exit_code}"
        lines += [f"## {bench.name}", "", f"{bench.what}. {status}, {bench.seconds:.0f} s.", ""]
        if bench.figures:
            lines += ["| figure | measured | goal | verdict | note |", "|---|---|---|---|---|"]
            for f in bench.figures:
                value = fmt(f.value) + (f" {f.unit}" if f.unit else "")
                verdict = {None: "", True: "met", False: "**MISSED**"}[f.met]
                lines.append(f"| {_cell(f.name)} | {value} | {f.goal_text} | {verdict} | {_cell(f.note)} |")
            lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small workloads, for a smoke run")
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--vtiger-latency", choices=("none", "realistic"), default="realistic")
    parser.add_argument("--report", default=str(REPORT), help="where to write the Markdown report")
    args = parser.parse_args()
    selected = [b for b in benches() if not args.only or b.name in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        for bench in selected:
            run(bench, args.quick, args.vtiger_latency, Path(tmp))
    Path(args.report).write_text(report(selected, args.quick, args.vtiger_latency), encoding="utf-8")
    failed = [b.name for b in selected if b.error or any(f.met is False for f in b.figures)]
    print(
        f"\nreport written to {args.report}; "
        + (f"goals missed or errors in: {', '.join(failed)}" if failed else "every goal met")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
