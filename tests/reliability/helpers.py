"""The real daemon as a subprocess against in-process sandboxes, plus a request-counting tripwire that
SIGKILLs it at an exact request (counting requests is deterministic; sleeping is not)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox._http import Request, Response, SandboxServer
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from sandbox.x import XSandbox
from tests.daemon.helpers import SECRET, Daemon, post_event, wait_for

ROOT = Path(__file__).resolve().parents[2]
# Requests of the periodic import jobs and of VK's long poll: never part of a send, so they are left out of
# send-flow counts.
IMPORT_OPS = frozenset(
    {
        "messages.getConversations",
        "messages.getHistory",
        "dm_events",
        "users_me",
        "a_check",
        "groups.getLongPollServer",
        "groups.getLongPollSettings",
    }
)

__all__ = ["SECRET", "Boxes", "Client", "Daemon", "Tripwire", "post_event", "wait_for", "write_config"]


@dataclass
class Boxes:
    crm: VtigerSandbox
    vk: VkSandbox
    x: XSandbox

    @property
    def all(self) -> tuple[SandboxServer, ...]:
        return (self.crm, self.vk, self.x)


@dataclass(frozen=True)
class Client:
    """A CRM contact with a VK and an X account."""

    record: str
    vk_uid: int
    x_uid: str
    tag: str


def add_clients(boxes: Boxes, count: int, tag: str) -> list[Client]:
    clients = []
    for n in range(count):
        name = f"{tag}_{n}"
        vk_uid = boxes.vk.add_user("Rel", name, screen_name=f"vk_{name}")
        x_uid = boxes.x.add_user(f"x_{name}", f"Rel {name}")
        record = boxes.crm.seed(
            "Contacts",
            {
                "lastname": name,
                "assigned_user_id": "19x1",
                "vk_url": f"https://vk.com/vk_{name}",
                "tw_url": f"https://x.com/x_{name}",
            },
        )
        clients.append(Client(record, vk_uid, x_uid, name))
    return clients


# Imports run as in production, only more often: at start and every 0.6 s.
IMPORT_MINUTES = 0.01


def write_config(
    tmp: Path,
    boxes: Boxes,
    *,
    vtiger_timeout: float = 5.0,
    state: Path | None = None,
    import_minutes: float = IMPORT_MINUTES,
) -> Path:
    crm, vk, x = boxes.crm, boxes.vk, boxes.x
    text = f"""version: 1
vtiger: {{url: "{crm.url}", username: admin, access_key: "{crm.access_key}", timeout: {vtiger_timeout}}}
networks:
  vk: {{enabled: true, token: "{vk.community_token}", group_id: {vk.group_id}, api_url: "{vk.url}",
        rate_limit: 1000, imports: {{interval_minutes: {import_minutes}}}}}
  x: {{enabled: true, consumer_key: "{x.consumer_key}", consumer_secret: "{x.consumer_secret}",
       access_token: "{x.access_token}", access_token_secret: "{x.access_token_secret}", api_url: "{x.url}",
       rate_limit: 1000, imports: {{interval_minutes: {import_minutes}}}}}
webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{state or tmp / "state.sqlite3"}"}}
jobs: {{outbox_interval_seconds: 0.2, shutdown_grace_seconds: 10}}
"""
    path = tmp / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class _Trigger:
    pid: int
    remaining: int  # matching requests still to let through before the kill
    after: bool  # True: do the work, then die before answering (the daemon never sees the answer)
    ops: frozenset[str] | None  # None: every request except IMPORT_OPS
    fired: threading.Event = field(default_factory=threading.Event)


class Tripwire:
    """Wraps every sandbox's `handle` to SIGKILL an armed daemon at an exact request.

    `arm(pid, n)` kills on the n-th send-flow request (1-based, import fetches not counted) from now:
    before it is carried out (`after=False`: every earlier step is persisted, nothing of this one
    happened) or after it was carried out but before its answer leaves (`after=True`: the network or
    the CRM did it, the daemon can never know). Requests answered by a fault knob never reach `handle`
    and are not counted. `trace` records send-flow operations while `tracing` is on.
    """

    def __init__(self, boxes: Boxes) -> None:
        self._lock = threading.Lock()
        self._trigger: _Trigger | None = None
        self.tracing = False
        self.trace: list[str] = []
        for box in boxes.all:
            box.handle = self._wrap(box, box.handle)  # type: ignore[method-assign]

    def _wrap(
        self, box: SandboxServer, handle: Callable[[Request], Response]
    ) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            with self._lock:
                op = f"{box.name}:{request.operation}"
                flow = request.operation not in IMPORT_OPS
                if self.tracing and flow:
                    self.trace.append(op)
                trigger = self._trigger
                due = False
                if trigger is not None and flow and (trigger.ops is None or op in trigger.ops):
                    trigger.remaining -= 1
                    due = trigger.remaining == 0
                    if due:
                        self._trigger = None
            if not due or trigger is None:
                return handle(request)
            response = handle(request) if trigger.after else Response(500, b"", {})
            _kill(trigger.pid)
            trigger.fired.set()
            return response  # written to a dead peer, or not at all

        return answer

    def arm(
        self, pid: int, n: int, *, after: bool = False, ops: Iterable[str] | None = None
    ) -> threading.Event:
        trigger = _Trigger(pid, n, after, frozenset(ops) if ops is not None else None)
        with self._lock:
            self._trigger = trigger
        return trigger.fired

    def disarm(self) -> None:
        with self._lock:
            self._trigger = None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # already gone
        pass


def state_rows(state: Path, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
    """Read the daemon's state file directly (read-only, so a running daemon is not disturbed)."""
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def open_sends(state: Path) -> int:
    return int(state_rows(state, "SELECT COUNT(*) FROM outbox WHERE done_at IS NULL")[0][0])


def send_event(url: str, client: Client, event_id: str, text: str) -> int:
    payload = {"event": "send", "module": "Contacts", "id": client.record, "event_id": event_id, "text": text}
    return post_event(url, payload).status_code


def pending_events(state: Path) -> int:
    return int(state_rows(state, "SELECT COUNT(*) FROM webhook_event WHERE done_at IS NULL")[0][0])


def imported_since(state: Path, moment: dt.datetime, networks: Iterable[str] = ("vk", "x")) -> bool:
    """Every network's import has run (to the end) since `moment`: e.g. the start-up import of a daemon."""
    try:
        rows = state_rows(state, "SELECT network, last_import_at FROM import_cursor")
    except sqlite3.OperationalError:  # the daemon has not created its tables yet
        return False
    stamp = moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    done = {row["network"] for row in rows if row["last_import_at"] >= stamp}
    return set(networks) <= done


def started_daemon(config: Path, state: Path) -> Daemon:
    """A daemon whose start-up imports have run, so what follows meets a caught-up import."""
    moment = dt.datetime.now(dt.UTC)
    daemon = Daemon(config)
    assert wait_for(lambda: imported_since(state, moment), timeout=30), daemon.log
    return daemon


def enqueue(state: Path, sends: Iterable[tuple[Client, str]]) -> None:
    """Queue sends to VK and X straight into the state store, as `Sender.enqueue` writes them."""
    from bridge.store import SendTarget, Store

    with Store(state) as store:
        for client, text in sends:
            crm_fields = {
                "vk": ("vk_url", f"https://vk.com/vk_{client.tag}"),
                "x": ("tw_url", f"https://x.com/x_{client.tag}"),
            }
            targets = [
                SendTarget(network=n, field=f, url=u, account_id=None) for n, (f, u) in crm_fields.items()
            ]
            store.outbox.enqueue_send(
                record_id=client.record,
                module="Contacts",
                text=text,
                targets=targets,
                event_id=None,
                requested_by="cli",
            )


def nudge(url: str, client: Client, event_id: str) -> None:
    """A harmless fresh event (a save that changed no social field): it wakes the events job."""
    payload = {
        "event": "record_saved",
        "module": "Contacts",
        "id": client.record,
        "event_id": event_id,
        "changed": ["description"],
    }
    assert post_event(url, payload).status_code == 202


def problems(boxes: Boxes, state: Path, sends: Iterable[tuple[Client, str]]) -> list[str]:
    """Every way the world differs from "each send delivered once per network, recorded once, linked"."""
    found: list[str] = []
    records = boxes.crm.records("SPSocialConnector")
    for client, text in sends:
        vk = [m for m in boxes.vk.delivered_to(client.vk_uid) if m["text"] == text]
        xs = [m for m in boxes.x.delivered_to(client.x_uid) if m["text"] == text]
        mine = [r for r in records if r["message"] == text]
        if len(vk) != 1 or len(xs) != 1 or len(mine) != 1:
            found.append(f"{text!r}: VK {len(vk)}x, X {len(xs)}x, CRM {len(mine)} record(s)")
            continue
        rec = mine[0]
        wanted = {
            "vk_status": "Sent",
            "tw_status": "Sent",
            "vk_message_id": str(vk[0]["id"]),
            "tw_message_id": str(xs[0]["id"]),
            "type": "Outbound",
        }
        wrong = {k: rec.get(k) for k, v in wanted.items() if rec.get(k) != v}
        if wrong:
            found.append(f"{text!r}: record {rec['id']} has {wrong}, wanted {wanted}")
        if boxes.crm.related(rec["id"]) != [client.record]:
            found.append(f"{text!r}: record {rec['id']} linked to {boxes.crm.related(rec['id'])}")
    if open_sends(state):
        found.append(f"{open_sends(state)} send(s) left in the outbox")
    return found
