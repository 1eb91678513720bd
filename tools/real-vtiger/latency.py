"""Latencies of webservice operations on a real vtiger, timed with time.perf_counter (the method of issue 9's
measured figures). Three measurements, each on a freshly reset CRM:

    eval "$(tools/real-vtiger/real-vtiger env salesplatform-7.2)"
    python tools/real-vtiger/latency.py -n 40                          # medians per operation, sequential
    python tools/real-vtiger/latency.py --growth 0,1000,2000,3000,4000 # creates as the Contacts module grows
    python tools/real-vtiger/latency.py --concurrency 1,2,4,8          # creates from several clients at once

Every mode creates records (Contacts, messages, links): reset the CRM afterwards. The sandbox's realistic
latency model (sandbox/vtiger/latency.py) is fitted to what these print.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import requests


class Ws:
    def __init__(self, url: str, user: str, key: str) -> None:
        self.endpoint = url.rstrip("/") + "/webservice.php"
        self.user, self.key = user, key
        self.http = requests.Session()
        self.session = ""
        self.user_id = ""

    def call(self, method: str, **params: str) -> Any:
        if self.session and "sessionName" not in params and params.get("operation") != "getchallenge":
            params["sessionName"] = self.session
        if method == "GET":
            response = self.http.get(self.endpoint, params=params, timeout=60)
        else:
            response = self.http.post(self.endpoint, data=params, timeout=60)
        body = response.json()
        if not body.get("success"):
            raise RuntimeError(f"{params.get('operation')}: {body.get('error')}")
        return body["result"]

    def challenge(self) -> str:
        return str(self.call("GET", operation="getchallenge", username=self.user)["token"])

    def login(self, token: str) -> None:
        digest = hashlib.md5((token + self.key).encode()).hexdigest()  # vtiger's login digest, not security
        result = self.call("POST", operation="login", username=self.user, accessKey=digest)
        self.session, self.user_id = result["sessionName"], result["userId"]


def real_vtiger(tool: str) -> tuple[str, str, str] | None:
    """URL, user and access key of the real vtiger the environment names, or None (after saying so)."""
    try:
        url, user, key = (os.environ[f"VSB_REAL_VTIGER_{k}"] for k in ("URL", "USER", "ACCESS_KEY"))
    except KeyError as missing:
        print(
            f'{tool}: {missing.args[0]} is not set; eval "$(tools/real-vtiger/real-vtiger env PROFILE)"',
            file=sys.stderr,
        )
        return None
    return url, user, key


def timed(fn: Callable[[], Any], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description="latencies of a real vtiger's webservice")
    p.add_argument("-n", type=int, default=40, help="calls per operation (default 40)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--growth", help="Contacts module sizes to time creates at, e.g. 0,1000,2000,3000,4000")
    p.add_argument(
        "--module",
        default="Contacts",
        choices=("Contacts", "SPSocialConnector"),
        help="the module --growth fills (default Contacts)",
    )
    p.add_argument("--concurrency", help="numbers of clients creating at once, e.g. 1,2,4,8")
    p.add_argument("--per-client", type=int, default=30, help="creates per client (--concurrency)")
    a = p.parse_args()
    named = real_vtiger("latency")
    if named is None:
        return 2
    url, user, key = named
    if a.growth or a.concurrency:
        from latency_load import concurrency, growth  # a second file keeps each small

        if a.growth:
            growth(lambda: Ws(url, user, key), [int(x) for x in a.growth.split(",")], a.n, a.module)
        if a.concurrency:
            concurrency(lambda: Ws(url, user, key), [int(x) for x in a.concurrency.split(",")], a.per_client)
        return 0
    ws = Ws(url, user, key)
    ws.login(ws.challenge())
    stamp = time.strftime("%H%M%S")
    counter = iter(range(1_000_000))
    contacts: list[str] = []
    messages: list[str] = []

    def create_contact() -> None:
        element = {
            "lastname": f"Latency {stamp} {next(counter)}",
            "firstname": "Иван",
            "email": "ivan@example.com",
            "assigned_user_id": ws.user_id,
        }
        contacts.append(
            ws.call("POST", operation="create", elementType="Contacts", element=json.dumps(element))["id"]
        )

    def create_message() -> None:
        element = {
            "message": f"Здравствуйте {next(counter)}",
            "assigned_user_id": ws.user_id,
            "message_datetime": time.strftime("%Y-%m-%d %H:%M:%S"),
            "type": "Исходящее",
        }
        messages.append(
            ws.call("POST", operation="create", elementType="SPSocialConnector", element=json.dumps(element))[
                "id"
            ]
        )

    pairs = iter(range(1_000_000))

    def add_related() -> None:
        i = next(pairs)
        ws.call(
            "POST",
            operation="add_related",
            sourceRecordId=contacts[i % len(contacts)],
            relatedRecordId=messages[i % len(messages)],
            relationIdLabel="SPSocialConnector",
        )

    rows: dict[str, list[float]] = {}
    rows["getchallenge"] = timed(ws.challenge, a.n, a.warmup)
    logins = []
    for _ in range(a.n + a.warmup):
        token = ws.challenge()
        started = time.perf_counter()
        ws.login(token)
        logins.append((time.perf_counter() - started) * 1000)
    rows["login (without getchallenge)"] = logins[a.warmup :]
    rows["create Contacts (4 fields)"] = timed(create_contact, a.n, a.warmup)
    rows["retrieve Contacts"] = timed(
        lambda: ws.call("GET", operation="retrieve", id=contacts[0]), a.n, a.warmup
    )
    if "SPSocialConnector" in ws.call("GET", operation="listtypes")["types"]:  # SalesPlatform's messages
        rows["create SPSocialConnector"] = timed(create_message, a.n, a.warmup)
        rows["add_related Contact -> message"] = timed(add_related, a.n, a.warmup)
    fifth = "vk_url" if "create SPSocialConnector" in rows else "phone"  # plain vtiger has no vk_url
    rows["query (5 columns, LIMIT 5)"] = timed(
        lambda: ws.call(
            "GET",
            operation="query",
            query=f"SELECT id, firstname, lastname, email, {fifth} FROM Contacts LIMIT 5;",
        ),
        a.n,
        a.warmup,
    )
    print(f"{url}: {a.n} sequential calls per operation after {a.warmup} warm-up calls (ms)")
    print(f"{'operation':34} {'median':>7} {'p90':>7} {'max':>7}")
    for name, values in rows.items():
        values = sorted(values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        print(f"{name:34} {statistics.median(values):7.1f} {p90:7.1f} {values[-1]:7.1f}")
    print(f"created {len(contacts)} Contacts and {len(messages)} messages: reset the CRM when done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
