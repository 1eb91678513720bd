"""Every benchmark module imports (none is run here), so a rename in the product breaks CI, not the
next benchmark run; and the report's goal arithmetic is right."""

from __future__ import annotations

import importlib

import pytest

from benchmarks._common import Figure

MODULES = [
    "benchmarks._common",
    "benchmarks.providers",
    "benchmarks.messengers",
    "benchmarks.bridge_services",
    "benchmarks.cli_backfill",
    "benchmarks.daemon",
    "benchmarks.longpoll_latency",
    "benchmarks.send_burst",
    "benchmarks.run_all",
    "benchmarks.vtiger_client",
    "benchmarks.webhook",
]


@pytest.mark.parametrize("name", MODULES)
def test_benchmark_module_imports(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__


def test_figure_verdicts() -> None:
    assert Figure("requests", 2, goal=10).met is True
    assert Figure("rate", 0.5, goal=0.9, op=">=").met is False
    assert Figure("context", 3).met is None


def test_run_all_reads_the_text_output_of_the_benchmarks_it_does_not_own() -> None:
    from benchmarks.run_all import parse_vtiger_client, parse_webhook

    client = parse_vtiger_client(
        "create            200     0.500    0.450   1.11         0.100       0.090       1.11\n"
        "total                     2.000    1.800   1.11         0.400       0.360       1.11\n"
    )
    assert [f.name for f in client] == [
        "HTTP requests: create",
        "client/bare wall-time ratio",
        "client/bare CPU ratio",
    ]
    assert client[1].met is True
    hook = parse_webhook("accepted events/s (median): 1500\np99 ratio webhook/bare (median of 3): 2.40 (goal")
    assert [(f.value, f.met) for f in hook] == [(1500, None), (2.4, False), (0, True)]
