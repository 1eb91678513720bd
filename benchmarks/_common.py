"""Helpers shared by the benchmarks: goal tables, exit codes, JSON results, a vtiger sandbox with latency.

Every benchmark prints its figures as a table of counts and ratios next to their goals, exits 0 when
every goal is met and 1 otherwise, and (with `--json PATH`) writes the same figures for `run_all`.
"""

from __future__ import annotations

import argparse
import bisect
import json
import operator
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sandbox.vtiger import LatencyModel, RealisticVtigerSandbox

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}

# A real SalesPlatform 7.2 measured with tools/real-vtiger/latency.py: per-operation times, saves growing
# with the module, creates serialised on one lock and reusing auto-numbers (sandbox/vtiger/latency.py).
REALISTIC_LATENCY = LatencyModel()


@dataclass
class Figure:
    """One measured figure; `goal` is None for figures shown for context only."""

    name: str
    value: float
    unit: str = ""
    goal: float | None = None
    op: str = "<="
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.goal is None:
            return None
        return _COMPARE[self.op](self.value, self.goal)

    @property
    def goal_text(self) -> str:
        return "" if self.goal is None else f"{self.op} {fmt(self.goal)}"

    @property
    def verdict(self) -> str:
        return {None: "", True: "met", False: "MISSED"}[self.met]


def fmt(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def print_table(title: str, figures: list[Figure]) -> None:
    rows = [
        (f.name, fmt(f.value) + (f" {f.unit}" if f.unit else ""), f.goal_text, f.verdict, f.note)
        for f in figures
    ]
    head = ("figure", "measured", "goal", "", "note")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(4)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(head[:4], widths, strict=True)) + "  " + head[4])
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])


def finish(
    name: str,
    figures: list[Figure],
    json_path: str | None,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Print the verdict, write the JSON results if asked, and return the exit code (0 = all goals met)."""
    missed = [f.name for f in figures if f.met is False]
    if json_path:
        payload = {
            "benchmark": name,
            "figures": [asdict(f) | {"met": f.met} for f in figures],
            "extra": dict(extra or {}),
        }
        Path(json_path).write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    goals = sum(1 for f in figures if f.goal is not None)
    print(
        f"\n{name}: {goals - len(missed)} of {goals} goals met"
        + (f"; MISSED: {', '.join(missed)}" if missed else "")
    )
    return 1 if missed else 0


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", help="also write the figures to this JSON file (used by run_all)")
    parser.add_argument(
        "--vtiger-latency",
        choices=("none", "realistic"),
        default="none",
        help="timing of the vtiger sandbox (realistic: a measured SalesPlatform 7.2, "
        "sandbox/vtiger/latency.py)",
    )
    return parser


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MB"
    except OSError:
        pass
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": str(os.cpu_count()),
        "memory": mem,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


_KEYSET = re.compile(
    r"^SELECT (?P<cols>.+) FROM (?P<module>\w+)(?: WHERE id > '\d+x(?P<after>\d+)')?"
    r" ORDER BY id LIMIT 100;$"
)


class BenchVtigerSandbox(RealisticVtigerSandbox):
    """The vtiger sandbox with a real server's timing (`model`, or none) and a fast path for keyset pages.

    Keyset pages: the sandbox evaluates every query over every row of the module (about 1.4 s a page at
    100,000 contacts), which a real MySQL with its primary key does not. For the exact shape
    `SELECT cols FROM M [WHERE id > 'NxK'] ORDER BY id LIMIT 100;` that `query_iter` sends, the real
    query executor is run over just the rows that can be on that page, so the answer is the same and
    request counts are untouched, only the sandbox's own CPU time shrinks.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ids: dict[str, list[int]] = {}
        self._ids_size = -1

    def _query(self, text: str | None) -> Any:
        match = _KEYSET.match(text or "")
        if match is None or match.group("module") not in self.schema.modules:
            return super()._query(text)
        with self.lock:
            module = match.group("module")
            if self._ids_size != len(self.store.records):
                self._ids = {}
                for crmid in sorted(self.store.records):
                    self._ids.setdefault(self.store.records[crmid].module, []).append(crmid)
                self._ids_size = len(self.store.records)
            ids = self._ids.get(module, [])
            start = bisect.bisect_right(ids, int(match.group("after") or 0))
            window: list[int] = []
            for crmid in ids[start:]:
                if not self.store.records[crmid].deleted:
                    window.append(crmid)
                    if len(window) == 100:
                        break
            full = self.store.records
            try:
                # The executor reads `store.records` through `store.rows`: show it only the window.
                self.store.records = {crmid: full[crmid] for crmid in window}
                return super()._query(text)
            finally:
                self.store.records = full


def vtiger_sandbox(latency: str, **kwargs: Any) -> BenchVtigerSandbox:
    return BenchVtigerSandbox(model=REALISTIC_LATENCY if latency == "realistic" else None, **kwargs)
