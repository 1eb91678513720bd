"""How XProvider maps X's failures and honours its rate-limit headers (sandbox over real HTTP)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from providers.base import AccountId, ProfileRef
from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.x import E_DM_CREATE, XProvider
from providers.x.errors import dm_refusal_reason
from sandbox._http import Response
from sandbox.x import XSandbox
from tests.fakes import FakeClock
from tests.x_support import EPOCH_START, contract_violations, make_provider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH_START)


@pytest.fixture
def x(clock: FakeClock) -> Iterator[XSandbox]:
    with XSandbox(clock=clock) as sandbox:
        yield sandbox
        assert contract_violations(sandbox) == []
        assert sandbox.tweets == []


@pytest.fixture
def provider(x: XSandbox, clock: FakeClock) -> Iterator[XProvider]:
    with make_provider(x, clock) as p:
        yield p


def assert_no_secret(error: ProviderError, x: XSandbox) -> None:
    text = str(error) + repr(error.code)
    for secret in (x.consumer_key, x.consumer_secret, x.access_token, x.access_token_secret):
        assert secret not in text
    assert error.network == "x"


def test_recipient_who_does_not_accept_dms(x: XSandbox, provider: XProvider) -> None:
    uid = x.add_user("shy", "Shy", accepts_dms=False)
    with pytest.raises(ProviderNotAllowed) as info:
        provider.send_message(AccountId(uid), "hello", "k")
    assert info.value.reason is NotAllowedReason.NOT_OPTED_IN
    assert "not following you" in str(info.value)
    assert x.delivered_to(uid) == []
    assert_no_secret(info.value, x)


def test_recipient_who_blocked_us(x: XSandbox, provider: XProvider) -> None:
    uid = x.add_user("blocker", "Blocker")
    x.block_us(uid)
    with pytest.raises(ProviderNotAllowed) as info:
        provider.send_message(AccountId(uid), "hello", "k")
    assert info.value.reason is NotAllowedReason.PRIVACY


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        (
            {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"},
            NotAllowedReason.PERMISSION_DENIED,
        ),
        (
            {
                "title": "Client Forbidden",
                "type": "https://api.twitter.com/2/problems/client-forbidden",
                "reason": "client-not-enrolled",
                "detail": "When authenticating requests...",
            },
            NotAllowedReason.PERMISSION_DENIED,
        ),
        (
            {"detail": "You cannot send messages to users who are not following you."},
            NotAllowedReason.NOT_OPTED_IN,
        ),
        ({"detail": "You cannot send messages to this user."}, NotAllowedReason.PRIVACY),
    ],
)
def test_403_problem_wording_decides_the_reason(problem: dict[str, str], reason: NotAllowedReason) -> None:
    assert dm_refusal_reason(problem) is reason


def test_unknown_or_suspended_participant(x: XSandbox, provider: XProvider) -> None:
    gone = x.add_user("gone", "Gone", suspended=True)
    for target in ("424242", gone):
        with pytest.raises(ProviderNotFound, match="does not exist or was suspended"):
            provider.send_message(AccountId(target), "hello", f"k{target}")
    with pytest.raises(ProviderNotFound):
        provider.send_message(AccountId("not-an-id"), "hello", "k")


def test_unknown_names_in_a_200_errors_array_are_left_out(x: XSandbox, provider: XProvider) -> None:
    x.add_user("gone", "Gone", suspended=True)
    refs = [ProfileRef("x", "screen_name", "gone"), ProfileRef("x", "screen_name", "nobody")]
    assert provider.resolve(refs) == {}
    assert provider.fetch_profiles([AccountId("777")]) == {}


def test_wrong_credentials_are_an_auth_error_without_secrets(x: XSandbox, clock: FakeClock) -> None:
    with XProvider(
        x.consumer_key,
        x.consumer_secret,
        x.access_token,
        "stolen-or-stale",
        api_url=x.url,
        clock=clock,
        sleep=clock.sleep,
        wall_clock=clock,
    ) as bad:
        with pytest.raises(ProviderAuthError) as info:
            bad.fetch_profiles([AccountId(x.me)])
    assert "Reconnect the X account" in str(info.value)
    assert_no_secret(info.value, x)
    assert "stolen-or-stale" not in str(info.value)


def test_429_uses_the_reset_header_and_defers_the_limiter(
    x: XSandbox, clock: FakeClock, provider: XProvider
) -> None:
    reset = int(clock() + 600)
    body = {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}
    headers = {
        "x-rate-limit-limit": "200",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(reset),
        "Content-Type": "application/problem+json",
    }
    x.faults.custom(lambda _r: Response.json(body, 429, headers), operation="dm_create")
    uid = x.add_user("client", "Client")
    with pytest.raises(ProviderRateLimited) as info:
        provider.send_message(AccountId(uid), "hello", "k")
    assert info.value.retry_after == pytest.approx(600)
    assert provider.limiter.blocked_for() == pytest.approx(600)
    before = x.count()
    with pytest.raises(ProviderRateLimited):  # refused locally: a spent window costs no request
        provider.fetch_profiles([AccountId(uid)])
    assert x.count() == before
    clock.now = reset + 1
    assert provider.send_message(AccountId(uid), "hello", "k").message_id == x.delivered_to(uid)[0]["id"]


def test_window_headers_are_honoured_before_the_server_says_429(
    x: XSandbox, clock: FakeClock, provider: XProvider
) -> None:
    x.limits["dm_create"] = 2
    uid = x.add_user("client", "Client")
    provider.send_message(AccountId(uid), "one", "k1")
    provider.send_message(AccountId(uid), "two", "k2")
    with pytest.raises(ProviderRateLimited) as info:
        provider.send_message(AccountId(uid), "three", "k3")
    assert info.value.retry_after == pytest.approx(900)
    assert x.count("dm_create") == 2  # the third never left the process
    assert provider.stats[E_DM_CREATE] == 2
    clock.now += 900
    provider.send_message(AccountId(uid), "three", "k3")
    assert [d["text"] for d in x.delivered_to(uid)] == ["one", "two", "three"]


def test_a_window_that_resets_within_seconds_is_slept_through(
    x: XSandbox, clock: FakeClock, provider: XProvider
) -> None:
    x.limits["dm_create"] = 1
    uid = x.add_user("client", "Client")
    provider.send_message(AccountId(uid), "one", "k1")
    clock.now += 897  # the window resets in 3 s: cheaper to wait than to reschedule
    provider.send_message(AccountId(uid), "two", "k2")
    assert clock.slept and clock.slept[-1] == pytest.approx(3)
    assert len(x.delivered_to(uid)) == 2


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_unavailable(x: XSandbox, provider: XProvider, status: int) -> None:
    x.faults.http_error(status)
    with pytest.raises(ProviderUnavailable) as info:
        provider.fetch_profiles([AccountId(x.me)])
    assert info.value.transient


def test_dropped_connection_and_timeout_are_unavailable(x: XSandbox, clock: FakeClock) -> None:
    with make_provider(x, clock, timeout=0.1) as provider:
        x.faults.drop()
        with pytest.raises(ProviderUnavailable, match="Could not reach X"):
            provider.fetch_profiles([AccountId(x.me)])
        x.faults.latency = 0.3
        with pytest.raises(ProviderUnavailable, match="in time"):
            provider.fetch_profiles([AccountId(x.me)])
        x.faults.clear()
        # Let the late answer hit the closed socket now, so its "broken pipe" report stays inside this test.
        time.sleep(0.3)


def test_garbage_body_is_unavailable(x: XSandbox, provider: XProvider) -> None:
    x.faults.html()
    with pytest.raises(ProviderUnavailable, match="not JSON"):
        provider.fetch_profiles([AccountId(x.me)])


def test_text_limits_are_checked_before_paying_for_a_call(x: XSandbox, provider: XProvider) -> None:
    uid = x.add_user("client", "Client")
    for text in ("", "   ", "x" * 10_001):
        with pytest.raises(ProviderNotAllowed) as info:
            provider.send_message(AccountId(uid), text, "k")
        assert info.value.reason is NotAllowedReason.UNSUPPORTED_BY_NETWORK
    assert x.count() == 0
