"""A profile backfill as an administrator runs it: `python -m benchmarks.cli_backfill [--contacts 3000]`.

`python run_bridge.py -c CONFIG backfill-profiles` as a subprocess against the vtiger sandbox (realistic
latency under `run_all`) and a VK sandbox. N contacts with a `vk.com/<screen name>` link, saved an hour
before the run, 1 in 5 (`--fill-share`) with empty fields the VK profile can fill. Counted at the
sandboxes: the walk's query pages on Contacts, the re-read before writing, every vtiger read, VK requests
and `revise` per record to fill.

Measured on a real SalesPlatform (issue 14), the CLI read 78 pages and made 6 VK requests for 3,000
Contacts: 1,000-record chunks, their ids listed in a walk of their own, and a re-read of the whole
module's changes. Goals: the records read once (ceil(N/100) pages + the empty one that ends the walk, + the
re-read: <= ceil(N/100) + 2), VK <= 2 requests, one `revise` per record to fill. Exit status 0 when every
goal is met, 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks._common import Figure, base_parser, finish, print_table, vtiger_sandbox
from benchmarks.daemon import write_config
from sandbox.vk import VkSandbox

ROOT = Path(__file__).resolve().parents[1]
WRITES = ("create", "update", "revise", "delete", "add_related")


def run(latency: str, contacts: int, fill_share: float) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp, vtiger_sandbox(latency) as crm, VkSandbox() as vk:
        vk.add_users(contacts, screen_prefix="cli_")
        every = max(1, round(1 / fill_share)) if fill_share > 0 else contacts + 1
        fillable = 0
        crm.set_time(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))  # saved an hour ago
        for i in range(contacts):
            fields = {"lastname": f"Cli{i}", "vk_url": f"https://vk.com/cli_{i}"}
            if i % every == 0:
                fillable += 1  # firstname and birthday empty: the VK profile has both
            else:
                fields |= {"firstname": "Known", "birthday": "1990-05-01"}  # nothing left to fill
            crm.seed("Contacts", fields)
        crm.set_time(None)
        config = write_config(Path(tmp), crm, vk)
        crm.reset_log()
        vk.reset_log()
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "run_bridge.py", "-c", str(config), "backfill-profiles"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        elapsed = time.perf_counter() - started
        ops = Counter(r.operation for r in list(crm.requests))
        queries = [r.arg("query") or "" for r in list(crm.requests) if r.operation == "query"]
        vk_requests, vk_ops = vk.count(), dict(vk.counters)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
    walk = [q for q in queries if "FROM Contacts" in q and "modifiedtime >" not in q]
    reread = [q for q in queries if "FROM Contacts" in q and "modifiedtime >" in q]
    reads = sum(n for op, n in ops.items() if op not in WRITES)
    pages = -(-contacts // 100) + 1
    last = (proc.stdout.strip().splitlines() or [""])[-1]
    return [
        Figure(
            f"CLI backfill of {contacts} contacts: exit code",
            proc.returncode,
            goal=0,
            op="==",
            note=f"{last!r}; {elapsed:.1f} s",
        ),
        Figure(
            "CLI backfill: Contacts query pages",
            len(walk) + len(reread),
            goal=pages + 1,
            note=f"the walk {len(walk)} (pages of 100 + the empty last one), the re-read before writing "
            f"{len(reread)}; on a real SalesPlatform before issue 14: 78",
        ),
        Figure(
            "CLI backfill: vtiger reads",
            reads,
            note="all requests: " + ", ".join(f"{op} {n}" for op, n in sorted(ops.items())),
        ),
        Figure(
            "CLI backfill: VK requests",
            vk_requests,
            goal=2,
            note=f"{vk_ops}; before issue 14: 6 (one resolve + fetch per 1,000-record chunk)",
        ),
        Figure(
            "CLI backfill: revise per record to fill",
            ops["revise"] / max(fillable, 1),
            goal=1,
            op="==",
            note=f"{ops['revise']} revise for {fillable} records",
        ),
    ]


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=3000, help="contacts in the backfill")
    parser.add_argument("--fill-share", type=float, default=0.2, help="share of contacts with fields to fill")
    args = parser.parse_args()
    figures = run(args.vtiger_latency, args.contacts, args.fill_share)
    print_table(f"CLI backfill-profiles (vtiger latency: {args.vtiger_latency})", figures)
    extra = {"contacts": args.contacts, "vtiger_latency": args.vtiger_latency}
    return finish("cli_backfill", figures, args.json, extra)


if __name__ == "__main__":
    raise SystemExit(main())
