"""A redirect in an API answer is a URL from a network response: it must not be followed to another host.

requests follows 3xx by default (`allow_redirects=True`); it drops the Authorization header on the way, but
the bridge would still make a request to a host no configuration named. Every client passes
`allow_redirects=False` and reports a 3xx as unavailable (a protocol error for vtiger).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from providers.base import AccountId
from providers.facebook import FacebookProvider
from providers.ratelimit import RateLimiter
from providers.vk import VkProvider
from providers.x import XProvider
from sandbox._http import Request, Response
from sandbox.facebook import FacebookSandbox
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from sandbox.x import XSandbox
from tests.security.canary import serve_canary
from vtiger_ws import VtigerClient


@pytest.fixture
def canary() -> Iterator[tuple[str, list[str]]]:
    with serve_canary() as (url, hits):
        yield f"{url}/elsewhere", hits


def _vk(fast: RateLimiter) -> tuple[Any, Any, Callable[[Any], object]]:
    box = VkSandbox()
    return box, lambda: VkProvider(box.community_token, group_id=box.group_id, api_url=box.url,
                                   rate_limiter=fast), lambda p: p.fetch_profiles([AccountId("100")])


def _x(fast: RateLimiter) -> tuple[Any, Any, Callable[[Any], object]]:
    box = XSandbox()
    return box, lambda: XProvider(box.consumer_key, box.consumer_secret, box.access_token,
                                  box.access_token_secret, api_url=box.url, rate_limiter=fast), \
        lambda p: p.fetch_profiles([AccountId("2244994945")])


def _facebook(fast: RateLimiter) -> tuple[Any, Any, Callable[[Any], object]]:
    box = FacebookSandbox()
    return box, lambda: FacebookProvider(box.page_token, box.page_id, api_url=box.url, rate_limiter=fast), \
        lambda p: p.fetch_profiles([AccountId("2400000000000001")])


def _vtiger(fast: RateLimiter) -> tuple[Any, Any, Callable[[Any], object]]:
    box = VtigerSandbox()
    return box, lambda: VtigerClient(box.url, box.username, box.access_key), lambda c: c.login()


# client -> (factory, the function that refuses to follow the redirect)
CASES = {
    "vk": (_vk, "providers/vk_transport.py VkTransport._post"),
    "x": (_x, "providers/x_http.py XTransport.request"),
    "facebook": (_facebook, "providers/facebook_graph.py GraphClient.call"),
    "vtiger": (_vtiger, "vtiger_ws/transport.py Transport.call"),
}


@pytest.mark.parametrize("client", list(CASES))
def test_a_redirect_to_another_host_is_not_followed(client: str, canary: tuple[str, list[str]]) -> None:
    target, hits = canary
    box, make, call = CASES[client][0](RateLimiter(1000, burst=1000))
    with box:
        def redirect(_request: Request) -> Response:
            return Response(status=302, headers={"Location": target, "Content-Length": "0"})

        box.faults.custom(redirect, times=1)
        opened = make()
        try:
            try:
                call(opened)
            except Exception:
                pass
        finally:
            opened.close()
    assert hits == []
