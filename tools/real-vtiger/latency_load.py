"""The load half of latency.py: how create latency grows with the module, and what creates from several
clients at once do (throughput, waiting, duplicate auto-numbers)."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

Factory = Callable[[], Any]  # -> a logged-out latency.Ws


def _session(factory: Factory) -> Any:
    ws = factory()
    ws.login(ws.challenge())
    return ws


def _contact(ws: Any, name: str) -> dict[str, Any]:
    element = {
        "lastname": name,
        "firstname": "Иван",
        "email": "ivan@example.com",
        "assigned_user_id": ws.user_id,
    }
    result: dict[str, Any] = ws.call(
        "POST", operation="create", elementType="Contacts", element=json.dumps(element)
    )
    return result


def _message(ws: Any, text: str) -> str:
    element = {
        "message": text,
        "assigned_user_id": ws.user_id,
        "type": "Исходящее",
        "message_datetime": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return str(
        ws.call("POST", operation="create", elementType="SPSocialConnector", element=json.dumps(element))[
            "id"
        ]
    )


def _ms(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return (time.perf_counter() - started) * 1000, value


def _fmt(values: list[float]) -> str:
    values = sorted(values)
    return f"{statistics.median(values):6.1f} {values[min(len(values) - 1, int(len(values) * 0.9))]:6.1f}"


def growth(factory: Factory, sizes: list[int], n: int, module: str = "Contacts") -> None:
    """Sequential creates; at each size of `module`, the median of the next `n` Contact creates, message
    creates and add_related calls. The records in between are created as fast as one client can."""
    ws = _session(factory)
    count = int(ws.call("GET", operation="query", query=f"SELECT count(*) FROM {module};")[0]["count"])
    print(
        f"{module[:8]:>8} {'create Contact':>14} {'revise Contact':>14} {'create message':>14} "
        f"{'add_related':>12}  (median p90, ms)"
    )
    stamp = time.strftime("%H%M%S")
    for size in sorted(sizes):
        while count < size:
            if module == "Contacts":
                _contact(ws, f"Growth {stamp} {count}")
            else:
                _message(ws, f"Рост {stamp} {count}")
            count += 1
        contacts, revises, messages, links = [], [], [], []
        for i in range(n):
            name = f"Growth {stamp} {count + i}"
            took, record = _ms(lambda name=name: _contact(ws, name))
            contacts.append(took)
            took, _ = _ms(
                lambda r=record: ws.call(
                    "POST", operation="revise", element=json.dumps({"id": r["id"], "title": "CEO"})
                )
            )
            revises.append(took)
            took, message = _ms(lambda i=i: _message(ws, f"Рост {i}"))
            messages.append(took)
            took, _ = _ms(
                lambda m=message, r=record: ws.call(
                    "POST",
                    operation="add_related",
                    sourceRecordId=m,
                    relatedRecordId=r["id"],
                    relationIdLabel="Contacts",
                )
            )
            links.append(took)
        count += n if module == "Contacts" else 0
        count += n if module == "SPSocialConnector" else 0
        print(
            f"{size:8d} {_fmt(contacts):>14} {_fmt(revises):>14} {_fmt(messages):>14} {_fmt(links):>12}",
            flush=True,
        )


def _client(
    ws: Any,
    name: str,
    creates: int,
    start: threading.Barrier,
    lock: threading.Lock,
    results: list[tuple[float, str]],
) -> None:
    start.wait()
    for i in range(creates):
        label = f"Concurrency {name}-{i}"
        took, record = _ms(lambda label=label: _contact(ws, label))
        with lock:
            results.append((took, str(record["contact_no"])))


def concurrency(factory: Factory, levels: list[int], per_client: int) -> None:
    """`k` clients (own sessions) each create `per_client` Contacts at once: creates per second, each
    create's latency, and how many contact_no numbers were handed out twice."""
    print(f"{'clients':>7} {'creates/s':>9} {'latency median p90':>18} {'contact_no duplicated':>22}")
    for k in levels:
        sessions = [_session(factory) for _ in range(k)]  # one after another: a login replaces the token
        results: list[tuple[float, str]] = []
        lock = threading.Lock()
        start = threading.Barrier(k)
        threads = [
            threading.Thread(target=_client, args=(ws, f"{k}-{c}", per_client, start, lock, results))
            for c, ws in enumerate(sessions)
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        numbers = Counter(number for _, number in results)
        twice = sum(n - 1 for n in numbers.values() if n > 1)
        print(
            f"{k:7d} {len(results) / wall:9.1f} {_fmt([t for t, _ in results]):>18} "
            f"{twice:>10} of {len(results)}",
            flush=True,
        )
