"""Network requests per provider operation, and VK send throughput against VK's rate limit.

    python -m benchmarks.providers [--profiles 5000] [--send-seconds 4] [--json out.json]

VK: requests to resolve and fetch N profiles named by screen-name links (goal <= 10, where one request
per profile would take N); messages sent per second over a few seconds of the real clock, as a fraction of
the community token's 20 requests/s, with the sandbox enforcing that limit (goal >= 0.9 with zero
error-6 answers). X and Facebook: requests per operation as their sandboxes count them.
Exit status 0 when every goal is met, 1 otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from benchmarks._common import Figure, base_parser, finish, print_table
from providers.base import AccountId, ProfileRef
from providers.facebook import FacebookProvider
from providers.ratelimit import RateLimiter
from providers.vk import VkProvider
from providers.vk.rate import DEFAULT_RPS
from providers.vk.rate import rate_limiter as vk_rate_limiter
from providers.x import XProvider
from sandbox.facebook import FacebookSandbox
from sandbox.vk import VkSandbox
from sandbox.x import XSandbox

VK_RATE = DEFAULT_RPS["community"]  # 20 requests/s: VK's limit for a community token


def _delta(count: Callable[[], int], action: Callable[[], object]) -> int:
    before = count()
    action()
    return count() - before


def vk_profiles(n: int) -> list[Figure]:
    with VkSandbox(rate_limit=VK_RATE) as box:
        box.add_users(n, screen_prefix="bench_")
        # The limiter a VK provider builds by default (providers/vk/rate.py): VK's rate, burst 1.
        with VkProvider(
            box.community_token,
            group_id=box.group_id,
            api_url=box.url,
            rate_limiter=RateLimiter(VK_RATE, burst=1),
        ) as vk:
            refs = [ProfileRef("vk", "screen_name", f"bench_{i}") for i in range(n)]
            box.reset_log()
            started = time.perf_counter()
            resolved = vk.resolve(refs)
            resolve_requests = box.count()
            profiles = vk.fetch_profiles(resolved.values())
            elapsed = time.perf_counter() - started
            total = box.count()
    return [
        Figure(
            "VK: profiles resolved + fetched",
            len(profiles),
            goal=n,
            op="==",
            note=f"of {n} screen-name links",
        ),
        Figure(
            "VK: requests for them",
            total,
            goal=10,
            note=f"resolve {resolve_requests}, fetch {total - resolve_requests}; one by one: {n}",
        ),
        Figure("VK: profiles per request", len(profiles) / max(total, 1), note=f"{elapsed:.2f} s wall"),
        Figure("VK: error-6 answers while fetching", box.rate_limited, goal=0, op="=="),
    ]


def vk_send_rate(seconds: float, limiter_rate: float = VK_RATE, peers: int = 50) -> list[Figure]:
    """Send for `seconds` with the provider's limiter at `limiter_rate`; the sandbox enforces VK_RATE."""
    with VkSandbox(rate_limit=VK_RATE) as box:
        uids = [box.add_user(f"Peer{i}", "Send") for i in range(peers)]
        with VkProvider(
            box.community_token,
            group_id=box.group_id,
            api_url=box.url,
            rate_limiter=vk_rate_limiter(limiter_rate),
        ) as vk:  # as the daemon builds it
            time.sleep(1.05)  # an empty 1-second window in the sandbox before the clock starts
            box.reset_log()
            sent = errors = 0
            started = time.monotonic()
            # Bounded by count as well as time: at most 1.5x what the limit allows in `seconds`.
            for i in range(int(seconds * VK_RATE * 1.5)):
                if time.monotonic() - started >= seconds:
                    break
                try:
                    vk.send_message(AccountId(str(uids[i % peers])), f"bench {i}", f"bench-key-{i}")
                    sent += 1
                except Exception:  # counted, not raised: the figure is the point
                    errors += 1
            elapsed = time.monotonic() - started
            delivered = sum(len(box.delivered_to(uid)) for uid in uids)
            requests = box.count("messages.send")
    rate = sent / elapsed
    if limiter_rate != VK_RATE:  # a context row: what a margin below the limit would give
        return [
            Figure(
                f"VK: send rate / limit, configured at {limiter_rate:g}/s",
                rate / VK_RATE,
                note=f"{sent} sent in {elapsed:.2f} s, {box.rate_limited} error-6 answers",
            )
        ]
    return [
        Figure(
            "VK: messages sent",
            sent,
            note=f"in {elapsed:.2f} s, {requests} send requests, {delivered} delivered, {errors} failed",
        ),
        Figure("VK: send rate", rate, "msg/s", note=f"limit {VK_RATE:g}/s"),
        Figure("VK: send rate / rate limit", rate / VK_RATE, goal=0.9, op=">="),
        Figure("VK: error-6 answers while sending", box.rate_limited, goal=0, op="=="),
        Figure("VK: requests per message sent", requests / max(sent, 1), goal=1, op="<="),
    ]


def x_operations(n: int = 250) -> list[Figure]:
    with XSandbox() as box:
        names = [f"xbench{i}" for i in range(n)]
        ids = [box.add_user(name, f"X Bench {i}") for i, name in enumerate(names)]
        peer = ids[0]
        with XProvider(
            box.consumer_key,
            box.consumer_secret,
            box.access_token,
            box.access_token_secret,
            api_url=box.url,
            rate_limiter=RateLimiter(1000, burst=1000),
        ) as x:
            x.me_id()  # asked once per process, then remembered
            resolve = _delta(box.count, lambda: x.resolve([ProfileRef("x", "screen_name", s) for s in names]))
            fetch = _delta(box.count, lambda: x.fetch_profiles([AccountId(i) for i in ids]))
            send = _delta(box.count, lambda: x.send_message(AccountId(peer), "hello", "x-bench-1"))
            box.incoming_dm(peer, "answer")
            cursor = x.fetch_messages(None, 20)[1]
            idle = _delta(box.count, lambda: x.fetch_messages(cursor, 20))
            box.incoming_dm(peer, "new one")
            new = _delta(box.count, lambda: x.fetch_messages(cursor, 20))
    per_call = math.ceil(n / 100)
    return [
        Figure(f"X: requests to resolve {n} screen names", resolve, goal=per_call, note="100 per request"),
        Figure(f"X: requests to fetch {n} profiles", fetch, goal=per_call, note="100 per request"),
        Figure("X: requests per DM sent", send, goal=1),
        Figure("X: requests per idle import run", idle, goal=1),
        Figure("X: requests per import run with 1 new DM", new, goal=1),
    ]


def facebook_operations(n: int = 20) -> list[Figure]:
    with FacebookSandbox() as box:
        psids = [box.add_person(f"Fb{i}", "Bench") for i in range(n)]
        for psid in psids:
            box.advance(minutes=1)  # the sandbox clock is manual: people write a minute apart
            box.incoming(psid, "hi")  # opens the 24-hour reply window
        fb = FacebookProvider(
            box.page_token,
            box.page_id,
            api_url=box.url,
            rate_limiter=RateLimiter(1000, burst=1000),
            now=box.clock,
        )
        try:  # FacebookProvider is no context manager
            fetch = _delta(box.count, lambda: fb.fetch_profiles([AccountId(p) for p in psids]))
            box.advance(minutes=1)
            send = _delta(box.count, lambda: fb.send_message(AccountId(psids[0]), "hello", "fb-bench-1"))
            cursor = fb.fetch_messages(None, 100)[1]
            idle = _delta(box.count, lambda: fb.fetch_messages(cursor, 20))
        finally:
            fb.close()
    return [
        Figure(
            f"Facebook: requests to fetch {n} profiles",
            fetch,
            goal=n,
            note="User Profile API: one request per PSID",
        ),
        Figure("Facebook: requests per message sent", send, goal=1),
        Figure(
            "Facebook: requests per idle import run",
            idle,
            goal=2,
            note=f"{n} conversations; list + the newest thread (the cursor's second is re-read)",
        ),
    ]


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=5000, help="VK profiles to resolve and fetch")
    parser.add_argument("--send-seconds", type=float, default=4.0, help="how long to send to VK")
    args = parser.parse_args()
    sections = [
        ("VK profiles", vk_profiles(args.profiles)),
        (
            "VK send throughput (real clock), limiter at the limit as built by providers/vk/rate.py",
            vk_send_rate(args.send_seconds),
        ),
        (
            "VK send throughput with a margin (context, no goal)",
            [
                *vk_send_rate(args.send_seconds, VK_RATE * 0.95),
                *vk_send_rate(args.send_seconds, VK_RATE * 0.9),
            ],
        ),
        ("X requests per operation", x_operations()),
        ("Facebook requests per operation", facebook_operations()),
    ]
    for title, figures in sections:
        print_table(title, figures)
    return finish("providers", [f for _, figures in sections for f in figures], args.json)


if __name__ == "__main__":
    raise SystemExit(main())
