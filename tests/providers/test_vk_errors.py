"""Every VK error the bridge knows maps to providers.errors; 6/10 are retried; bursts stay under the limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.base import AccountId
from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderCaptchaRequired,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.vk import VkProvider
from sandbox._http import Request, Response
from sandbox.vk import VkSandbox
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vk(clock: FakeClock) -> Iterator[VkSandbox]:
    with VkSandbox(clock=clock) as sandbox:
        yield sandbox


@pytest.fixture
def provider(vk: VkSandbox, clock: FakeClock) -> Iterator[VkProvider]:
    with VkProvider(
        vk.community_token, group_id=vk.group_id, api_url=vk.url, clock=clock, sleep=clock.sleep, timeout=5.0
    ) as p:
        yield p


@pytest.fixture
def uid(vk: VkSandbox) -> int:
    user = vk.add_user("Client", "One")
    vk.incoming(user, "hi")
    return user


NA = NotAllowedReason
CASES: list[tuple[int, type[ProviderError], NotAllowedReason | None]] = [
    (1, ProviderUnavailable, None),
    (5, ProviderAuthError, None),
    (6, ProviderRateLimited, None),
    (7, ProviderNotAllowed, NA.PERMISSION_DENIED),
    (9, ProviderRateLimited, None),
    (10, ProviderUnavailable, None),
    (14, ProviderCaptchaRequired, None),
    (15, ProviderNotAllowed, NA.PERMISSION_DENIED),
    (17, ProviderAuthError, None),
    (18, ProviderNotFound, None),
    (29, ProviderRateLimited, None),
    (30, ProviderNotAllowed, NA.PRIVACY),
    (100, ProviderError, None),
    (113, ProviderNotFound, None),
    (900, ProviderNotAllowed, NA.BLACKLISTED),
    (901, ProviderNotAllowed, NA.NOT_OPTED_IN),
    (902, ProviderNotAllowed, NA.PRIVACY),
    (936, ProviderNotFound, None),
]


@pytest.mark.parametrize(("code", "kind", "reason"), CASES, ids=[str(c[0]) for c in CASES])
def test_each_vk_error_code_is_mapped(
    provider: VkProvider,
    vk: VkSandbox,
    uid: int,
    code: int,
    kind: type[ProviderError],
    reason: NotAllowedReason | None,
) -> None:
    vk.fail_next(code, method="messages.send", times=None)  # persistent: retries must give up too
    with pytest.raises(ProviderError) as caught:
        provider.send_message(AccountId(str(uid)), "hi", "key")
    error = caught.value
    assert type(error) is kind
    assert error.code == code and error.network == "vk"
    assert vk.community_token not in str(error) and vk.community_token not in repr(error.args)
    if reason is not None:
        assert isinstance(error, ProviderNotAllowed) and error.reason is reason
    if isinstance(error, ProviderRateLimited):
        assert error.retry_after is not None
        assert error.retry_after >= (600 if code in (9, 29) else 1)
    if isinstance(error, ProviderCaptchaRequired):
        assert error.captcha_sid and error.captcha_img.startswith("https://")
    attempts = vk.count("messages.send")
    assert attempts == (4 if code in (6, 10) else 1)  # only 6 and 10 are retried, and boundedly
    assert vk.delivered_to(uid) == []


@pytest.mark.parametrize("code", [6, 10])
def test_transient_6_and_10_are_retried_inside_the_call(
    provider: VkProvider, vk: VkSandbox, uid: int, clock: FakeClock, code: int
) -> None:
    vk.fail_next(code, method="messages.send", times=2)
    sent = provider.send_message(AccountId(str(uid)), "hi", "key")
    assert sent.message_id and len(vk.delivered_to(uid)) == 1
    assert vk.count("messages.send") == 3
    assert sum(clock.slept) >= 1.0  # waited on the injected clock, not the wall clock


def test_execute_partial_errors(provider: VkProvider, vk: VkSandbox) -> None:
    ids = vk.add_users(1500)
    # 113 for one chunk only means nobody there: the rest is returned.
    profiles = provider.fetch_profiles([AccountId(str(i)) for i in [*ids, *range(900000, 901000)]])
    assert len(profiles) == 1500

    def partial(request: Request) -> Response:
        return Response.json(
            {
                "response": [[{"id": ids[0], "first_name": "A", "last_name": "B"}], False],
                "execute_errors": [{"method": "users.get", "error_code": 15, "error_msg": "Access denied"}],
            }
        )

    vk.faults.custom(partial, operation="execute")
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.fetch_profiles([AccountId(str(i)) for i in ids])
    assert caught.value.code == 15


def test_execute_sub_calls_failing_with_10_are_rerun(
    provider: VkProvider, vk: VkSandbox, clock: FakeClock
) -> None:
    ids = vk.add_users(1200)
    calls = {"n": 0}

    def flaky(request: Request) -> Response:
        calls["n"] += 1
        return Response.json(
            {
                "response": [False, False],
                "execute_errors": [
                    {"method": "users.get", "error_code": 10, "error_msg": "Internal server error"}
                ]
                * 2,
            }
        )

    vk.faults.custom(flaky, operation="execute")
    profiles = provider.fetch_profiles([AccountId(str(i)) for i in ids])
    assert len(profiles) == 1200 and calls["n"] == 1
    assert vk.count("execute") == 2 and clock.slept


@pytest.mark.parametrize("fault", ["http_500", "html", "drop", "timeout"])
def test_network_failures_are_unavailable(vk: VkSandbox, clock: FakeClock, uid: int, fault: str) -> None:
    if fault == "http_500":
        vk.faults.http_error(502)
    elif fault == "html":
        vk.faults.html()
    elif fault == "drop":
        vk.faults.drop()
    else:
        vk.faults.latency = 0.5  # over the 0.2 s timeout below
    try:
        with VkProvider(
            vk.community_token,
            group_id=vk.group_id,
            api_url=vk.url,
            clock=clock,
            sleep=clock.sleep,
            timeout=0.2,
        ) as provider:
            with pytest.raises(ProviderUnavailable) as caught:
                provider.fetch_profiles([AccountId(str(uid))])
    finally:
        vk.faults.clear()
    assert caught.value.transient is True
    assert vk.community_token not in str(caught.value)


@pytest.mark.parametrize(("token_type", "calls"), [("community", 60), ("user", 12)])
def test_rate_limiter_keeps_bursts_under_the_vk_limit(
    vk: VkSandbox, clock: FakeClock, token_type: str, calls: int
) -> None:
    token = vk.community_token if token_type == "community" else vk.user_token
    uid = vk.add_user("A", "B")
    start = clock.now
    with VkProvider(
        token, token_type=token_type, group_id=vk.group_id, api_url=vk.url, clock=clock, sleep=clock.sleep
    ) as p:
        for _ in range(calls):
            assert p.fetch_profiles([AccountId(str(uid))])
    assert vk.rate_limited == 0  # not a single error-6 answer
    rate = 20 if token_type == "community" else 3
    assert clock.now - start >= (calls - 1) / rate - 1e-6


def test_without_a_limiter_the_sandbox_answers_6_and_the_provider_recovers(
    vk: VkSandbox, clock: FakeClock
) -> None:
    # A too generous limiter (100/s) provokes VK's error 6; the provider defers and retries.
    from providers.ratelimit import RateLimiter

    uid = vk.add_user("A", "B")
    limiter = RateLimiter(100, burst=100, clock=clock, sleep=clock.sleep)
    with VkProvider(
        vk.community_token,
        group_id=vk.group_id,
        api_url=vk.url,
        rate_limiter=limiter,
        clock=clock,
        sleep=clock.sleep,
    ) as p:
        for _ in range(30):
            p.fetch_profiles([AccountId(str(uid))])
    assert vk.rate_limited >= 1
    assert limiter.waited >= 1.0
