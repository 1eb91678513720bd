"""Webhook throughput and latency, run by hand: `python benchmarks/webhook.py`

Prints accepted events per second at 32 concurrent clients, and the ratio of the 99th-percentile latency
of a signed, validated, stored event to that of a bare waitress endpoint answering the same request on the
same machine (goal: <= 2). Each server runs in its own process so that the 32 client threads do not
compete with it for the GIL.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests

from bridge.webhook.endpoint import EVENTS_PATH, make_app
from bridge.webhook.events import Event
from bridge.webhook.server import WebhookServer
from bridge.webhook.signing import sign

SECRET = "benchmark-secret-0123456789abcdef"
CLIENTS = 32


def _bare_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read()
    body = b'{"accepted":true,"event_id":"x"}'
    start_response("202 Accepted", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _memory_accept() -> Callable[[Event], bool]:
    seen: set[str] = set()
    lock = threading.Lock()

    def accept(event: Event) -> bool:
        with lock:
            if event.event_id in seen:
                return False
            seen.add(event.event_id)
            return True

    return accept


def _run(url: str, per_client: int, tag: str) -> tuple[float, list[float], int]:
    """(elapsed seconds, per-request latencies, count of 202 answers) for CLIENTS threads."""
    latencies: list[float] = []
    accepted = 0
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    def client(n: int) -> None:
        nonlocal accepted
        mine: list[float] = []
        ok = 0
        with requests.Session() as session:
            start.wait()
            for i in range(per_client):
                ws_id = f"12x{n * 100000 + i + 1}"
                body = json.dumps(
                    {
                        "event": "record_saved",
                        "module": "Contacts",
                        "id": ws_id,
                        "data": {"lastname": "Bench", "cf_vk": "https://vk.com/id1"},
                        "changed": ["cf_vk"],
                        "event_id": f"bench-{tag}-{n}-{i}",
                    }
                ).encode()
                headers = sign(SECRET, body, time.time()) | {"Content-Type": "application/json"}
                t0 = time.perf_counter()
                r = session.post(url + EVENTS_PATH, data=body, headers=headers, timeout=30)
                mine.append(time.perf_counter() - t0)
                ok += r.status_code == 202
        with lock:
            latencies.extend(mine)
            accepted += ok

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, accepted


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def _serve(kind: str, store_kind: str, threads: int, conn: Connection) -> None:
    """Child process: serve `kind` ("bare" or "webhook") until the parent says stop."""
    # 32 clients on a few worker threads queue by design; waitress warns about every queued task.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        store: Any = None
        app: Any = _bare_app
        if kind == "webhook":
            if store_kind == "sqlite":
                from bridge.store import Store
                from bridge.webhook.endpoint import store_acceptor

                store = Store(Path(tmp) / "bench.sqlite3")
                accept = store_acceptor(store.events)
            else:
                accept = _memory_accept()
            app = make_app(
                secret=SECRET, accept=accept, health=lambda: (200, {}), metrics=lambda: (b"", "text/plain")
            )
        try:
            with WebhookServer(app, threads=threads) as server:
                conn.send(server.url)
                conn.recv()
        finally:
            if store is not None:
                store.close()


def _measure(kind: str, store_kind: str, threads: int, per_client: int) -> tuple[float, list[float], int]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(kind, store_kind, threads, child))
    proc.start()
    try:
        url = parent.recv()
        _run(url, 5, "warmup")  # warm up connections and code paths
        return _run(url, per_client, "measured")
    finally:
        parent.send("stop")
        proc.join(30)
        parent.close()
        child.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000, help="total requests per run")
    parser.add_argument(
        "--store",
        choices=("memory", "sqlite"),
        default="memory",
        help="accept into a set, or into the real SQLite state store",
    )
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved bare/webhook run pairs")
    args = parser.parse_args()
    per_client = max(1, args.requests // CLIENTS)

    total = per_client * CLIENTS
    print(
        f"clients: {CLIENTS}, requests per run: {total}, waitress threads: {args.threads}, "
        f"store: {args.store}, rounds: {args.rounds}"
    )
    ratios: list[float] = []
    rates: list[float] = []
    for round_no in range(1, args.rounds + 1):
        # Interleaved runs, so that load from elsewhere on the machine hits both sides alike.
        bare_elapsed, bare_lat, _ = _measure("bare", args.store, args.threads, per_client)
        hook_elapsed, hook_lat, accepted = _measure("webhook", args.store, args.threads, per_client)
        ratios.append(_p99(hook_lat) / _p99(bare_lat))
        rates.append(accepted / hook_elapsed)
        print(
            f"round {round_no}: webhook {accepted} accepted = {rates[-1]:.0f} events/s, "
            f"p50 {statistics.median(hook_lat) * 1000:.1f} ms, p99 {_p99(hook_lat) * 1000:.1f} ms | "
            f"bare {total / bare_elapsed:.0f} req/s, p50 {statistics.median(bare_lat) * 1000:.1f} ms, "
            f"p99 {_p99(bare_lat) * 1000:.1f} ms | p99 ratio {ratios[-1]:.2f}"
        )
        if accepted != total:
            print(f"WARNING: {total - accepted} requests were not accepted")
    ratio = statistics.median(ratios)
    print(f"accepted events/s (median): {statistics.median(rates):.0f}")
    print(
        f"p99 ratio webhook/bare (median of {args.rounds}): {ratio:.2f} (goal <= 2): "
        f"{'OK' if ratio <= 2 else 'ABOVE GOAL'}"
    )


if __name__ == "__main__":
    main()
