"""Requests per operation and client overhead of `vtiger_ws` against bare `requests` calls.

Run by hand (not part of the test suite):

    python benchmarks/vtiger_client.py [--records 1000] [--repeat 3] [--profile salesplatform-7.2]

For create / retrieve / revise / query_iter of N records it prints the HTTP requests the client sent per
phase (from `client.stats`) and the wall time of the client versus the same calls written by hand with
one `requests.Session`, each against its own fresh sandbox. The goal is a ratio <= 1.2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import requests

from sandbox.vtiger import VtigerSandbox
from vtiger_ws import VtigerClient, vtql

PHASES = ("create", "retrieve", "revise", "query_iter")
FIELDS = ["firstname", "lastname", "email", "vk_url", "assigned_user_id"]


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_client(crm: Any, n: int) -> tuple[dict[str, float], dict[str, int]]:
    times: dict[str, float] = {}
    requests_per_phase: dict[str, int] = {}
    ids: list[str] = []
    with VtigerClient(crm.url, crm.username, crm.access_key, timeout=10) as client:
        client.login()
        owner = client.login_info.user_id

        def create() -> None:
            for i in range(n):
                ids.append(
                    client.create(
                        "Contacts", {"lastname": f"Bench {i}", "firstname": "Пётр", "assigned_user_id": owner}
                    )["id"]
                )

        phases: dict[str, Callable[[], Any]] = {
            "create": create,
            "retrieve": lambda: [client.retrieve(i) for i in ids],
            "revise": lambda: [client.revise({"id": i, "mobile": "+7 900"}) for i in ids],
            "query_iter": lambda: sum(1 for _ in client.query_iter("Contacts", fields=FIELDS)),
        }
        for name in PHASES:
            before = sum(client.stats.values())
            times[name] = _timed(phases[name])
            requests_per_phase[name] = sum(client.stats.values()) - before
    return times, requests_per_phase


def run_bare(crm: Any, n: int) -> dict[str, float]:
    url = crm.url + "/webservice.php"
    times: dict[str, float] = {}
    ids: list[str] = []
    with requests.Session() as http:
        token = http.get(
            url, params={"operation": "getchallenge", "username": crm.username}, timeout=10
        ).json()["result"]["token"]
        key = hashlib.md5((token + crm.access_key).encode()).hexdigest()
        login = http.post(
            url, data={"operation": "login", "username": crm.username, "accessKey": key}, timeout=10
        ).json()["result"]
        sid, owner = login["sessionName"], login["userId"]

        def get(params: dict[str, str]) -> Any:
            return json.loads(
                http.get(url, params={**params, "sessionName": sid}, timeout=10).text, strict=False
            )["result"]

        def post(params: dict[str, str]) -> Any:
            return json.loads(
                http.post(url, data={**params, "sessionName": sid}, timeout=10).text, strict=False
            )["result"]

        def create() -> None:
            for i in range(n):
                element = {"lastname": f"Bench {i}", "firstname": "Пётр", "assigned_user_id": owner}
                ids.append(
                    post(
                        {
                            "operation": "create",
                            "elementType": "Contacts",
                            "element": json.dumps(element, ensure_ascii=False),
                        }
                    )["id"]
                )

        def query_iter() -> int:
            count, last = 0, None
            while True:
                where = vtql.gt("id", last) if last else None
                rows = get(
                    {
                        "operation": "query",
                        "query": vtql.select("Contacts", FIELDS, where=where, order_by="id", limit=100),
                    }
                )
                if not rows:
                    return count
                count += len(rows)
                last = rows[-1]["id"]

        phases: dict[str, Callable[[], Any]] = {
            "create": create,
            "retrieve": lambda: [get({"operation": "retrieve", "id": i}) for i in ids],
            "revise": lambda: [
                post({"operation": "revise", "element": json.dumps({"id": i, "mobile": "+7 900"})})
                for i in ids
            ],
            "query_iter": query_iter,
        }
        for name in PHASES:
            times[name] = _timed(phases[name])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", default="salesplatform-7.2")
    args = parser.parse_args()

    best_client: dict[str, float] = {}
    best_bare: dict[str, float] = {}
    counts: dict[str, int] = {}
    for _ in range(args.repeat):  # alternate the runners so machine noise hits both alike
        with VtigerSandbox(profile=args.profile) as crm:
            times, counts = run_client(crm, args.records)
        for k, v in times.items():
            best_client[k] = min(v, best_client.get(k, v))
        with VtigerSandbox(profile=args.profile) as crm:
            times = run_bare(crm, args.records)
        for k, v in times.items():
            best_bare[k] = min(v, best_bare.get(k, v))

    print(
        f"vtiger_ws vs bare requests, {args.records} records, best of {args.repeat}, profile {args.profile}"
    )
    print(f"{'phase':<12}{'HTTP requests':>15}{'client s':>11}{'bare s':>10}{'ratio':>8}")
    for name in PHASES:
        ratio = best_client[name] / best_bare[name]
        print(f"{name:<12}{counts[name]:>15}{best_client[name]:>11.3f}{best_bare[name]:>10.3f}{ratio:>8.2f}")
    total_c, total_b = sum(best_client.values()), sum(best_bare.values())
    print(f"{'total':<12}{sum(counts.values()):>15}{total_c:>11.3f}{total_b:>10.3f}{total_c / total_b:>8.2f}")
    print("(plus getchallenge + login once per client; goal: ratio <= 1.2)")


if __name__ == "__main__":
    main()
