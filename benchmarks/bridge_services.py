"""Requests the bridge's services make to vtiger and the networks, per run, message, send and record.

    python -m benchmarks.bridge_services [--contacts 5000] [--fill-share 0.2] [--vtiger-latency realistic]

Wires the real services (`Importer`, `Sender`, `ProfileImporter`) to the vtiger, VK and X sandboxes
and counts requests with `VtigerClient.stats` and the sandboxes' counters:

* an idle VK import run (goal: 1 VK request, <= 1 vtiger request);
* a VK import of 20 messages from 20 known senders (goal: <= 3 VK requests for the run, <= 2.2 vtiger
  requests per message);
* one send to VK + X (goal: <= 3 vtiger requests: read the record, create the message, link it);
* a profile backfill of N contacts with `ProfileImporter.import_batch` (goal: <= 10 VK requests, <= 60
  vtiger reads, exactly one `revise` per record that has an empty field the profile can fill).

Exit status 0 when every goal is met, 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import Figure, base_parser, finish, print_table, vtiger_sandbox
from bridge.crm import Crm
from bridge.services.importing import Importer
from bridge.services.linking import UrlIndex
from bridge.services.profiles import ProfileImporter
from bridge.services.sending import Sender, SendRequest
from bridge.store import Store
from providers.ratelimit import RateLimiter
from providers.vk import VkProvider
from providers.vk.rate import DEFAULT_RPS
from providers.x import XProvider
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from sandbox.x import XSandbox
from vtiger_ws import VtigerClient

API_USER = "19x1"
WRITES = ("create", "update", "revise", "delete", "add_related")


@dataclass
class Rig:
    crm_box: VtigerSandbox
    vk_box: VkSandbox
    x_box: XSandbox
    client: VtigerClient
    crm: Crm
    store: Store
    vk: VkProvider
    x: XProvider

    @property
    def providers(self) -> dict[str, object]:
        return {"vk": self.vk, "x": self.x}

    def contact(self, lastname: str, **fields: str) -> str:
        return self.crm_box.seed("Contacts", {"lastname": lastname, "assigned_user_id": API_USER, **fields})


class PastClock:
    """The vtiger sandbox's clock, `hours_ago` behind until `now()` is called: seeded records then look
    an hour old, as in a CRM whose records were not all edited in the last minutes."""

    def __init__(self, hours_ago: float = 1.0) -> None:
        self.offset = dt.timedelta(hours=hours_ago)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - self.offset

    def now(self) -> None:
        self.offset = dt.timedelta(0)


@contextmanager
def rig(latency: str, clock: PastClock | None = None) -> Iterator[Rig]:
    """The sandboxes and the services wired as bridge/daemon/wiring.py does (VK limiter at 20/s, burst 1)."""
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        crm_box = stack.enter_context(vtiger_sandbox(latency, clock=clock))
        vk_box = stack.enter_context(VkSandbox(rate_limit=DEFAULT_RPS["community"]))
        x_box = stack.enter_context(XSandbox())
        client = VtigerClient(crm_box.url, crm_box.username, crm_box.access_key)
        stack.callback(client.close)
        store = Store(Path(tmp) / "state.sqlite3")
        stack.callback(store.close)
        vk = VkProvider(
            vk_box.community_token,
            group_id=vk_box.group_id,
            api_url=vk_box.url,
            rate_limiter=RateLimiter(DEFAULT_RPS["community"], burst=1),
        )
        stack.callback(vk.close)
        x = XProvider(
            x_box.consumer_key,
            x_box.consumer_secret,
            x_box.access_token,
            x_box.access_token_secret,
            api_url=x_box.url,
            rate_limiter=RateLimiter(100),
        )
        stack.callback(x.close)
        crm = Crm(client, timezone="UTC")  # the sandbox's database time zone
        crm.check_schema(["vk", "x"])
        yield Rig(crm_box, vk_box, x_box, client, crm, store, vk, x)


class Meter:
    """Requests made to vtiger (per operation) and to VK and X during a block."""

    def __init__(self, r: Rig) -> None:
        self.r = r
        self.vtiger: Counter[str] = Counter()
        self.vk = self.x = 0

    def __enter__(self) -> Meter:
        self._vt0 = Counter(self.r.client.stats)
        self._vk0, self._x0 = self.r.vk_box.count(), self.r.x_box.count()
        return self

    def __exit__(self, *exc: object) -> None:
        self.vtiger = Counter(self.r.client.stats)
        self.vtiger.subtract(self._vt0)
        self.vtiger = +self.vtiger
        self.vk = self.r.vk_box.count() - self._vk0
        self.x = self.r.x_box.count() - self._x0

    @property
    def vtiger_total(self) -> int:
        return sum(self.vtiger.values())

    @property
    def vtiger_reads(self) -> int:
        return sum(n for op, n in self.vtiger.items() if op not in WRITES)

    def breakdown(self) -> str:
        return ", ".join(f"{op} {n}" for op, n in sorted(self.vtiger.items())) or "none"


def _importer(r: Rig) -> Importer:
    index = UrlIndex(r.crm, r.providers, r.store.url_index)  # type: ignore[arg-type]
    return Importer(
        r.crm,
        r.providers,
        r.store.cursors,
        r.store.ledger,
        index,  # type: ignore[arg-type]
        api_user_id=API_USER,
        limit=20,
    )


def imports(latency: str) -> list[Figure]:
    with rig(latency) as r:
        senders = 20
        uids = [r.vk_box.add_user(f"Sender{i}", "Import", screen_name=f"sender_{i}") for i in range(senders)]
        for i in range(senders):
            r.contact(f"Import{i}", vk_url=f"https://vk.com/sender_{i}")
        importer = _importer(r)
        importer.index.refresh(full=True)  # the daemon builds the index at start
        importer.run("vk")  # establishes the cursor
        with Meter(r) as idle:
            report = importer.run("vk")
        assert report.fetched == 0
        for uid in uids:
            r.vk_box.incoming(uid, f"Hello from {uid}")
        started = time.perf_counter()
        with Meter(r) as busy:
            report = importer.run("vk")
        elapsed = time.perf_counter() - started
    per_message = busy.vtiger_total / max(report.created, 1)
    return [
        Figure("idle import run: VK requests", idle.vk, goal=1, op="<="),
        Figure("idle import run: vtiger requests", idle.vtiger_total, goal=1, note=idle.breakdown()),
        Figure(
            f"import of {senders} messages: created",
            report.created,
            goal=senders,
            op="==",
            note=f"{senders} known senders, {elapsed:.2f} s",
        ),
        Figure(f"import of {senders} messages: VK requests", busy.vk, goal=3),
        Figure(
            f"import of {senders} messages: vtiger requests per message",
            per_message,
            goal=2.2,
            note=busy.breakdown(),
        ),
    ]


def send(latency: str) -> list[Figure]:
    with rig(latency) as r:
        uid = r.vk_box.add_user("Send", "Both", screen_name="send_both")
        xid = r.x_box.add_user("send_both", "Send Both")
        record = r.contact("Both", vk_url="https://vk.com/send_both", tw_url="https://x.com/send_both")
        sender = Sender(r.crm, r.providers, r.store.outbox, r.store.ledger, api_user_id=API_USER)  # type: ignore[arg-type]
        r.x.me_id()  # asked once per process, not per send
        with Meter(r) as queue:
            sender.enqueue(SendRequest(record, "Ваш заказ готов"))
        with Meter(r) as deliver:
            done = sender.process_due()
        delivered = len(r.vk_box.delivered_to(uid)) + len(r.x_box.delivered_to(xid))
    total = queue.vtiger_total + deliver.vtiger_total
    return [
        Figure("send to VK + X: delivered", delivered, goal=2, op="==", note=f"{done} send finished"),
        Figure(
            "send to VK + X: vtiger requests per send",
            total,
            goal=3,
            note=f"queue: {queue.breakdown()}; deliver+record: {deliver.breakdown()}",
        ),
        Figure(
            "send to VK + X: VK requests",
            deliver.vk,
            note="resolve the screen name + messages.send + getById (a process's first VK answer)",
        ),
        Figure("send to VK + X: X requests", deliver.x, note="users/by + DM create"),
    ]


def backfill(latency: str, contacts: int, fill_share: float) -> list[Figure]:
    clock = PastClock()
    with rig(latency, clock) as r:
        r.vk_box.add_users(contacts, screen_prefix="bulk_")
        every = max(1, round(1 / fill_share)) if fill_share > 0 else contacts + 1
        fillable = 0
        for i in range(contacts):
            fields = {"vk_url": f"https://vk.com/bulk_{i}"}
            if i % every == 0:
                fillable += 1  # firstname and birthday empty: the VK profile has both
            else:
                fields |= {"firstname": "Known", "birthday": "1990-05-01"}  # nothing left to fill
            r.contact(f"Bulk{i}", **fields)
        clock.now()
        r.client.login()  # the hour the clock skipped outlived the session; a new one, outside the meter
        profiles = ProfileImporter(r.crm, r.providers, r.store.audit)  # type: ignore[arg-type]
        started = time.perf_counter()
        with Meter(r) as meter:
            reports = profiles.import_batch("Contacts")
        elapsed = time.perf_counter() - started
    written = sum(1 for rep in reports if rep.written)
    errors = sum(1 for rep in reports if rep.errors)
    return [
        Figure(
            f"backfill of {contacts} contacts: records written",
            written,
            goal=fillable,
            op="==",
            note=f"{fillable} have an empty field VK can fill; {errors} with errors; {elapsed:.1f} s",
        ),
        Figure("backfill: VK requests", meter.vk, goal=10, note=f"one by one: {contacts}"),
        Figure(
            "backfill: vtiger reads", meter.vtiger_reads, goal=60, note="all requests: " + meter.breakdown()
        ),
        Figure(
            "backfill: revise per record to fill",
            meter.vtiger["revise"] / max(fillable, 1),
            goal=1,
            op="==",
            note=f"{meter.vtiger['revise']} revise for {fillable} records",
        ),
    ]


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000, help="contacts in the profile backfill")
    parser.add_argument(
        "--fill-share",
        type=float,
        default=0.2,
        help="share of backfill contacts with empty fields to fill (the rest are complete)",
    )
    args = parser.parse_args()
    runs: list[tuple[str, Callable[[], list[Figure]]]] = [
        ("VK import", lambda: imports(args.vtiger_latency)),
        ("Send", lambda: send(args.vtiger_latency)),
        ("Profile backfill", lambda: backfill(args.vtiger_latency, args.contacts, args.fill_share)),
    ]
    figures: list[Figure] = []
    for title, run in runs:
        part = run()
        print_table(f"{title} (vtiger latency: {args.vtiger_latency})", part)
        figures += part
    return finish("bridge_services", figures, args.json, {"vtiger_latency": args.vtiger_latency})


if __name__ == "__main__":
    raise SystemExit(main())
