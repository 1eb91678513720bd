"""Requests per send and per idle poll for the Telegram and MAX bots, the providers and the bridge.

    python -m benchmarks.messengers [--sends 50] [--hold 1] [--json out.json]

Counted by the sandboxes over real HTTP: requests per message sent, per idle long poll (one request held
open `--hold` seconds, measured on the real clock), per poll that brings messages in, and what the
at-most-once / look-before-resend rules cost (Telegram: no request after an unknown outcome; MAX: one
`GET /messages` before a resend). The bridge section runs the bridge's own path against a vtiger sandbox:
issuing an invitation, a linked Start, a send through the outbox, an idle import run, with the requests it
makes to the bot and to the CRM each. Exit status 0 when every goal is met, 1 otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from benchmarks._common import Figure, base_parser, finish, print_table
from providers.base import AccountId
from providers.errors import ProviderDeliveryUnknown, ProviderUnavailable
from providers.max import MaxProvider
from providers.ratelimit import RateLimiter
from providers.telegram import TelegramProvider
from sandbox.max import MaxSandbox
from sandbox.telegram import TelegramSandbox


def _delta(count: Callable[[], int], action: Callable[[], object]) -> int:
    before = count()
    action()
    return count() - before


def _held(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def telegram(sends: int, hold: int) -> list[Figure]:
    with TelegramSandbox(rate_limit=None) as box:
        uid = box.add_user("Bench", "Telegram")
        box.press_start(uid)
        account = AccountId(str(uid))
        with TelegramProvider(
            box.token, api_url=box.url, rate_limiter=RateLimiter(1000, burst=1000), timeout=0.5
        ) as tg:
            offset = tg.poll_updates(None, 0).next_offset
            per_send = (
                _delta(
                    box.count, lambda: [tg.send_message(account, f"m{i}", f"tg-{i}") for i in range(sends)]
                )
                / sends
            )
            idle_requests = box.count()
            idle_seconds = _held(lambda: tg.poll_updates(offset, hold))
            idle_requests = box.count() - idle_requests
            for i in range(10):
                box.incoming(uid, f"in{i}")
            busy = _delta(box.count, lambda: tg.poll_updates(offset, hold))
            box.faults.slow(2, operation="sendMessage", after=True, times=1)
            try:
                tg.send_message(account, "late", "tg-late")
            except ProviderDeliveryUnknown:
                pass
            unknown_again = _delta(
                box.count, lambda: _swallow(lambda: tg.send_message(account, "late", "tg-late"))
            )
    return [
        Figure("Telegram: requests per message sent", per_send, goal=1, op="<=", note=f"{sends} sends"),
        Figure(
            "Telegram: requests per idle long poll",
            idle_requests,
            goal=1,
            op="==",
            note=f"held {idle_seconds:.2f} s of a {hold} s timeout",
        ),
        Figure("Telegram: requests per poll bringing 10 messages", busy, goal=1, op="=="),
        Figure(
            "Telegram: requests to retry a send of unknown outcome",
            unknown_again,
            goal=0,
            op="==",
            note="at most once: refused locally",
        ),
        Figure("Telegram: idle requests per hour at the 50 s timeout", 3600 / 50, note="derived: 1 per poll"),
    ]


def max_bot(sends: int, hold: int) -> list[Figure]:
    with MaxSandbox(rate_limit=None) as box:
        uid = box.add_user("Bench", "MAX")
        box.press_start(uid)
        account = AccountId(str(uid))
        with MaxProvider(
            box.token, api_url=box.url, rate_limiter=RateLimiter(1000, burst=1000), timeout=0.5
        ) as mx:
            first_poll = _delta(box.count, lambda: mx.poll_updates(None, 0))
            offset = mx.poll_updates(None, 0).next_offset
            per_send = (
                _delta(
                    box.count, lambda: [mx.send_message(account, f"m{i}", f"mx-{i}") for i in range(sends)]
                )
                / sends
            )
            long_text = ("слово " * 1600).strip()
            long_send = _delta(box.count, lambda: mx.send_message(account, long_text, "mx-long"))
            idle_requests = box.count()
            idle_seconds = _held(lambda: mx.poll_updates(offset, hold))
            idle_requests = box.count() - idle_requests
            for i in range(10):
                box.incoming(uid, f"in{i}")
            busy = _delta(box.count, lambda: mx.poll_updates(offset, hold))
            box.faults.slow(2, operation="POST /messages", after=True, times=1)
            _swallow(lambda: mx.send_message(account, "late", "mx-late"))
            settle = _delta(box.count, lambda: mx.send_message(account, "late", "mx-late"))
    return [
        Figure("MAX: requests per message sent", per_send, goal=1, op="<=", note=f"{sends} sends"),
        Figure(
            "MAX: requests per 9,599-character send",
            long_send,
            goal=3,
            op="==",
            note="split into 3 messages of <= 4000",
        ),
        Figure(
            "MAX: requests for the first poll",
            first_poll,
            goal=2,
            op="==",
            note="GET /subscriptions once, then GET /updates",
        ),
        Figure(
            "MAX: requests per idle long poll",
            idle_requests,
            goal=1,
            op="==",
            note=f"held {idle_seconds:.2f} s of a {hold} s timeout",
        ),
        Figure("MAX: requests per poll bringing 10 messages", busy, goal=1, op="=="),
        Figure(
            "MAX: requests to settle a send of unknown outcome",
            settle,
            goal=1,
            op="==",
            note="GET /messages finds it; nothing sent twice",
        ),
    ]


def bridge_flow(sends: int) -> list[Figure]:
    """The bridge's path for one bot: invitation, Start, sends and an idle import, counted per side."""
    import tempfile
    from pathlib import Path

    from bridge.crm import Crm
    from bridge.services.bot_events import BotEventHandler
    from bridge.services.importing import Importer
    from bridge.services.invitations import Inviter
    from bridge.services.linking import UrlIndex
    from bridge.services.sending import Sender, SendRequest
    from bridge.store import Store
    from providers.base import Provider
    from sandbox.vtiger import VtigerSandbox
    from vtiger_ws import VtigerClient

    figures: list[Figure] = []
    fast = RateLimiter(1000, burst=1000)
    with (
        VtigerSandbox(messengers=True) as crm_box,
        TelegramSandbox(rate_limit=None) as tg_box,
        MaxSandbox(rate_limit=None) as max_box,
        tempfile.TemporaryDirectory() as tmp,
    ):
        client = VtigerClient(crm_box.url, crm_box.username, crm_box.access_key)
        store = Store(Path(tmp) / "state.sqlite3")
        providers: dict[str, Provider] = {
            "telegram": TelegramProvider(tg_box.token, api_url=tg_box.url, rate_limiter=fast),
            "max": MaxProvider(max_box.token, api_url=max_box.url, rate_limiter=fast),
        }
        crm = Crm(client, timezone="UTC")
        crm.check_schema(list(providers))
        index = UrlIndex(crm, providers, store.url_index)
        index.refresh(full=True)
        importers = {
            n: Importer(crm, providers, store.cursors, store.ledger, index, api_user_id="19x1")
            for n in providers
        }
        handler = BotEventHandler(
            crm,
            providers,
            store.invitations,
            store.bot_events,
            index,
            {n: i.intake for n, i in importers.items()},
        )
        for importer in importers.values():
            importer.on_events = handler.handle
        inviter = Inviter(crm, providers, store.invitations)
        sender = Sender(crm, providers, store.outbox, store.ledger, api_user_id="19x1")
        boxes = {"telegram": tg_box, "max": max_box}
        name = {"telegram": "Telegram", "max": "MAX"}
        for network, box in boxes.items():
            importers[network].run(network)  # the first run: start cursor (MAX: its webhook check)
            record = crm_box.seed("Contacts", {"lastname": f"Bench {network}", "assigned_user_id": "19x1"})
            inviter.invite(record, network)  # the bot's name is asked once per process
            crm_before, bot_before = crm_box.count(), box.count()
            link = inviter.invite(record, network).link
            invite = (crm_box.count() - crm_before, box.count() - bot_before)
            uid = box.add_user("Bench", "Client")
            box.press_start(uid, link.rsplit("=", 1)[1])
            crm_before, bot_before = crm_box.count(), box.count()
            importers[network].run(network)
            start = (crm_box.count() - crm_before, box.count() - bot_before)
            crm_before, bot_before = crm_box.count(), box.count()
            for i in range(sends):
                outbox_id = sender.enqueue(SendRequest(record, f"bench {i}"))
                send = store.outbox.get_send(outbox_id)
                assert send is not None and sender.process(send)
            per_send = ((crm_box.count() - crm_before) / sends, (box.count() - bot_before) / sends)
            crm_before, bot_before = crm_box.count(), box.count()
            importers[network].run(network)
            idle = (crm_box.count() - crm_before, box.count() - bot_before)
            label = name[network]
            figures += [
                Figure(f"bridge, {label}: bot requests to issue an invitation", invite[1], goal=0, op="=="),
                Figure(
                    f"bridge, {label}: CRM requests to issue an invitation",
                    invite[0],
                    note="reads the record",
                ),
                Figure(f"bridge, {label}: bot requests per linked Start", start[1], goal=1, op="=="),
                Figure(
                    f"bridge, {label}: CRM requests per linked Start",
                    start[0],
                    note="read, write the account and names, re-read, look up, owner, create, link",
                ),
                Figure(
                    f"bridge, {label}: bot requests per send",
                    per_send[1],
                    goal=1,
                    op="<=",
                    note=f"{sends} sends",
                ),
                Figure(
                    f"bridge, {label}: CRM requests per send",
                    per_send[0],
                    note="read the record (its owner with it), create, link",
                ),
                Figure(f"bridge, {label}: bot requests per idle import run", idle[1], goal=1, op="=="),
                Figure(f"bridge, {label}: CRM requests per idle import run", idle[0], goal=0, op="=="),
            ]
        for closable in (*providers.values(), client, store):
            closable.close()  # type: ignore[attr-defined]
    return figures


def _swallow(action: Callable[[], object]) -> None:
    try:
        action()
    except (ProviderDeliveryUnknown, ProviderUnavailable):
        pass


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=50, help="messages to send per network")
    parser.add_argument("--hold", type=int, default=1, help="long-poll timeout of the idle poll, seconds")
    args = parser.parse_args()
    sections = [
        ("Telegram", telegram(args.sends, args.hold)),
        ("MAX", max_bot(args.sends, args.hold)),
        ("The bridge with both bots", bridge_flow(args.sends)),
    ]
    for title, figures in sections:
        print_table(title, figures)
    return finish("messengers", [f for _, figures in sections for f in figures], args.json)


if __name__ == "__main__":
    raise SystemExit(main())
