"""Requests per send and per idle poll for the Telegram and MAX bot providers.

    python -m benchmarks.messengers [--sends 50] [--hold 1] [--json out.json]

Counted by the sandboxes over real HTTP: requests per message sent, per idle long poll (one request held
open `--hold` seconds, measured on the real clock), per poll that brings messages in, and what the
at-most-once / look-before-resend rules cost (Telegram: no request after an unknown outcome; MAX: one
`GET /messages` before a resend). Exit status 0 when every goal is met, 1 otherwise.
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
    sections = [("Telegram", telegram(args.sends, args.hold)), ("MAX", max_bot(args.sends, args.hold))]
    for title, figures in sections:
        print_table(title, figures)
    return finish("messengers", [f for _, figures in sections for f in figures], args.json)


if __name__ == "__main__":
    raise SystemExit(main())
