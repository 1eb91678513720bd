"""The VK limiter the daemon builds keeps under VK's per-second limit as VK counts it.

Requests reach VK a few milliseconds after the limiter lets them go, by varying amounts; at exactly the
limit, 21 then now and then fall into one of VK's 1-second windows and VK answers error 6. The daemon's
limiter (`providers.vk.rate.rate_limiter`) runs a little under the configured rate for that reason: these
tests drive that limiter, and the provider the daemon wires from its config, against the VK sandbox
enforcing the configured rate, so taking the margin out of the daemon's wiring makes them fail.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from bridge.config import Config, NetworksConfig, VkConfig
from bridge.config.secrets import Secret
from bridge.daemon.wiring import build_provider
from providers.base import AccountId
from providers.ratelimit import RateLimiter
from providers.vk import VkProvider
from providers.vk.rate import rate_limiter as vk_rate_limiter
from sandbox.vk import VkSandbox
from tests.fakes import FakeClock

RATE = 20  # VK's limit for a community token, and the daemon's default `networks.vk.rate_limit`


def sends_with_jitter(make_limiter: Callable[[FakeClock], RateLimiter], sends: int = 60) -> tuple[int, float]:
    """(error-6 answers, messages/s) for `sends` messages when one request in 21 reaches VK 4 ms late.

    The provider runs on a fake clock (nothing sleeps); the sandbox sees the same clock plus the lag.
    """
    clock = FakeClock()
    calls = itertools.count()

    def arrival() -> float:
        return clock.now + (0.004 if next(calls) % 21 == 0 else 0.0)

    with VkSandbox(rate_limit=RATE, clock=arrival) as box:
        uid = box.add_user("Jitter", "Peer")
        limiter = make_limiter(clock)
        with VkProvider(
            box.community_token,
            group_id=box.group_id,
            api_url=box.url,
            rate_limiter=limiter,
            clock=clock,
            sleep=clock.sleep,
        ) as vk:
            start = clock.now
            for i in range(sends):
                vk.send_message(AccountId(str(uid)), f"m{i}", f"jitter-{i}")
            return box.rate_limited, sends / (clock.now - start)


def test_a_limiter_at_exactly_the_limit_earns_error_6_under_jitter() -> None:
    # What the margin is for: without it, the sandbox (and VK) answer error 6.
    errors, _ = sends_with_jitter(lambda clock: RateLimiter(RATE, burst=1, clock=clock, sleep=clock.sleep))
    assert errors > 0


def test_the_daemons_vk_limiter_survives_arrival_jitter_at_the_configured_rate() -> None:
    errors, rate = sends_with_jitter(lambda clock: vk_rate_limiter(RATE, clock=clock, sleep=clock.sleep))
    assert errors == 0
    assert rate >= 0.9 * RATE


def test_the_wired_vk_provider_stays_under_the_configured_rate_as_vk_sees_it() -> None:
    with VkSandbox(rate_limit=RATE) as box:
        uid = box.add_user("Real", "Clock")
        vk_config = VkConfig(
            enabled=True,
            token=Secret(box.community_token),
            group_id=box.group_id,
            api_url=box.url,
            rate_limit=RATE,
        )
        provider = build_provider(Config(networks=NetworksConfig(vk=vk_config)), "vk")
        try:
            for i in range(45):
                provider.send_message(AccountId(str(uid)), f"m{i}", f"wired-{i}")
        finally:
            provider.close()  # type: ignore[attr-defined]
        arrivals = [r.received_at for r in box.requests if r.operation == "messages.send"]
    assert box.rate_limited == 0
    assert len(arrivals) == 45
    # The first requests open the connection; from the fifth on, the spacing is the limiter's. A late
    # arrival (a loaded machine) only lowers the rate, so this cannot fail for a limiter with a margin.
    seen = (len(arrivals) - 5) / (arrivals[-1] - arrivals[4])
    assert seen <= 0.975 * RATE, f"{seen:.2f} requests/s reached VK"
