"""Requests per operation and client overhead of `vtiger_ws` against bare `requests` calls.

Run by hand (not part of the test suite):

    python -m benchmarks.vtiger_client [--records 1000] [--chunk 50] [--walks 6] [--profile ...]

For create / retrieve / revise / query_iter of N records it prints the HTTP requests the client sent per
phase (from `client.stats`) and the wall time of the client versus the same calls written by hand with
one `requests.Session`, each against its own fresh sandbox, the two alternating in blocks of operations
so that load drift on a shared machine hits both alike. The goal is a ratio <= 1.2.
Each sandbox runs in its own process so that the client and the server do not share one GIL.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from types import SimpleNamespace
from typing import Any

import requests

from sandbox.vtiger import VtigerSandbox
from vtiger_ws import VtigerClient, vtql

PHASES = ("create", "retrieve", "revise", "query_iter")
FIELDS = ["firstname", "lastname", "email", "vk_url", "assigned_user_id"]


def _serve(profile: str, conn: Connection) -> None:
    with VtigerSandbox(profile=profile) as crm:
        conn.send((crm.url, crm.username, crm.access_key))
        conn.recv()  # until the parent says stop


@contextmanager
def sandbox_process(profile: str) -> Iterator[Any]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(profile, child), daemon=True)
    process.start()
    try:
        url, username, access_key = parent.recv()
        yield SimpleNamespace(url=url, username=username, access_key=access_key)
    finally:
        parent.send("stop")
        process.join(timeout=10)
        parent.close()
        child.close()


class ClientRunner:
    """The workload through `VtigerClient`."""

    def __init__(self, crm: Any) -> None:
        self.client = VtigerClient(crm.url, crm.username, crm.access_key, timeout=10)
        self.owner = self.client.login_info.user_id
        self.ids: list[str] = []

    def create(self, lo: int, hi: int) -> None:
        for i in range(lo, hi):
            fields = {"lastname": f"Bench {i}", "firstname": "Пётр", "assigned_user_id": self.owner}
            self.ids.append(self.client.create("Contacts", fields)["id"])

    def retrieve(self, lo: int, hi: int) -> None:
        for record_id in self.ids[lo:hi]:
            self.client.retrieve(record_id)

    def revise(self, lo: int, hi: int) -> None:
        for record_id in self.ids[lo:hi]:
            self.client.revise({"id": record_id, "mobile": "+7 900"})

    def query_iter(self, lo: int, hi: int) -> None:
        assert sum(1 for _ in self.client.query_iter("Contacts", fields=FIELDS)) == len(self.ids)

    def close(self) -> None:
        self.client.close()


class BareRunner:
    """The same workload written by hand with one `requests.Session`."""

    def __init__(self, crm: Any) -> None:
        self.url = crm.url + "/webservice.php"
        self.http = requests.Session()
        token = self.http.get(
            self.url, params={"operation": "getchallenge", "username": crm.username}, timeout=10
        ).json()["result"]["token"]
        key = hashlib.md5((token + crm.access_key).encode()).hexdigest()
        login = self.http.post(
            self.url, data={"operation": "login", "username": crm.username, "accessKey": key}, timeout=10
        ).json()["result"]
        self.sid, self.owner = login["sessionName"], login["userId"]
        self.ids: list[str] = []

    def _get(self, params: dict[str, str]) -> Any:
        response = self.http.get(self.url, params={**params, "sessionName": self.sid}, timeout=10)
        return json.loads(response.text, strict=False)["result"]

    def _post(self, params: dict[str, str]) -> Any:
        response = self.http.post(self.url, data={**params, "sessionName": self.sid}, timeout=10)
        return json.loads(response.text, strict=False)["result"]

    def create(self, lo: int, hi: int) -> None:
        for i in range(lo, hi):
            element = {"lastname": f"Bench {i}", "firstname": "Пётр", "assigned_user_id": self.owner}
            self.ids.append(
                self._post(
                    {
                        "operation": "create",
                        "elementType": "Contacts",
                        "element": json.dumps(element, ensure_ascii=False),
                    }
                )["id"]
            )

    def retrieve(self, lo: int, hi: int) -> None:
        for record_id in self.ids[lo:hi]:
            self._get({"operation": "retrieve", "id": record_id})

    def revise(self, lo: int, hi: int) -> None:
        for record_id in self.ids[lo:hi]:
            self._post({"operation": "revise", "element": json.dumps({"id": record_id, "mobile": "+7 900"})})

    def query_iter(self, lo: int, hi: int) -> None:
        count, last = 0, None
        while True:
            where = vtql.gt("id", last) if last else None
            text = vtql.select("Contacts", FIELDS, where=where, order_by="id", limit=100)
            rows = self._get({"operation": "query", "query": text})
            if not rows:
                break
            count += len(rows)
            last = rows[-1]["id"]
        assert count == len(self.ids)

    def close(self) -> None:
        self.http.close()


def _timed(fn: Callable[[int, int], None], lo: int, hi: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this thread): the CPU figure is the client side alone, free of the
    server's work and of other load, since the sandboxes run in other processes."""
    wall, cpu = time.perf_counter(), time.thread_time()
    fn(lo, hi)
    return time.perf_counter() - wall, time.thread_time() - cpu


Times = dict[str, list[float]]  # phase -> [wall, cpu]


def measure(profile: str, n: int, chunk: int, walks: int) -> tuple[Times, Times, dict[str, int]]:
    """Client and bare times per phase, run in alternating chunks so that load drift hits both alike."""
    client_t: Times = {p: [0.0, 0.0] for p in PHASES}
    bare_t: Times = {p: [0.0, 0.0] for p in PHASES}
    counts: dict[str, int] = {}
    with sandbox_process(profile) as crm_a, sandbox_process(profile) as crm_b:
        client, bare = ClientRunner(crm_a), BareRunner(crm_b)
        try:
            for phase in PHASES:
                before = sum(client.client.stats.values())
                slices = (
                    [(0, n)] * walks
                    if phase == "query_iter"
                    else [(lo, min(lo + chunk, n)) for lo in range(0, n, chunk)]
                )
                for k, (lo, hi) in enumerate(slices):
                    pair = [(client, client_t), (bare, bare_t)]
                    for runner, acc in pair if k % 2 == 0 else reversed(pair):
                        wall, cpu = _timed(getattr(runner, phase), lo, hi)
                        acc[phase][0] += wall
                        acc[phase][1] += cpu
                runs = len(slices) if phase == "query_iter" else 1
                counts[phase] = (sum(client.client.stats.values()) - before) // runs
        finally:
            client.close()
            bare.close()
    return client_t, bare_t, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=50, help="operations per alternating block")
    parser.add_argument("--walks", type=int, default=6, help="query_iter walks per runner")
    parser.add_argument("--profile", default="salesplatform-7.2")
    args = parser.parse_args()

    client_t, bare_t, counts = measure(args.profile, args.records, args.chunk, args.walks)
    print(f"vtiger_ws vs bare requests: {args.records} records, profile {args.profile}")
    print(
        f"{'phase':<12}{'HTTP req':>9}{'client s':>10}{'bare s':>9}{'ratio':>7}"
        f"{'client CPU s':>14}{'bare CPU s':>12}{'CPU ratio':>11}"
    )
    for name in [*PHASES, "total"]:
        if name == "total":
            c = [sum(client_t[p][i] for p in PHASES) for i in (0, 1)]
            b = [sum(bare_t[p][i] for p in PHASES) for i in (0, 1)]
            requests_sent = ""
        else:
            c, b, requests_sent = client_t[name], bare_t[name], str(counts[name])
        print(
            f"{name:<12}{requests_sent:>9}{c[0]:>10.3f}{b[0]:>9.3f}{c[0] / b[0]:>7.2f}"
            f"{c[1]:>14.3f}{b[1]:>12.3f}{c[1] / b[1]:>11.2f}"
        )
    print(f"HTTP req: per phase; query_iter per walk of {args.records} rows (pages + the final empty one);")
    print("plus getchallenge + login once per client. Goal: ratio <= 1.2. Wall time includes the server;")
    print("CPU is the client process alone and is the steadier figure on a shared machine.")


if __name__ == "__main__":
    main()
