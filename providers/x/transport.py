"""The HTTP side of the X provider: OAuth 1.0a signed requests that respect X's rate budget
(`providers.x.rate`) and raise only `providers.errors` (`providers.x.errors`)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
from requests_oauthlib import OAuth1  # type: ignore[import-untyped]

from providers.errors import ProviderRateLimited, ProviderUnavailable
from providers.ratelimit import RateLimiter
from providers.x.errors import error_for, rate_limited
from providers.x.rate import MAX_INLINE_WAIT, Windows, default_limiter

NETWORK = "x"


class XTransport:
    """Signed requests to the X API with per-endpoint windows; raises `providers.errors` only."""

    def __init__(
        self,
        auth: OAuth1,
        *,
        api_url: str,
        rate_limiter: RateLimiter | None,
        session: requests.Session | None,
        timeout: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._auth = auth
        self.api_url = api_url.rstrip("/")
        self.limiter = rate_limiter or default_limiter(clock=clock, sleep=sleep)
        self._own_session = session is None
        self._session = session or requests.Session()
        self._timeout = timeout
        self.stats: Counter[str] = Counter()
        self.windows = Windows(wall_clock=wall_clock, sleep=sleep)

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    # --- requests ---------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        params: dict[str, str] | None = None,
        json_body: dict[str, Any] | None = None,
        dm_send: bool = False,
    ) -> dict[str, Any]:
        """One call; `endpoint` names it for stats and windows ("POST /2/dm_conversations/...")."""
        self.windows.wait_for(endpoint)
        blocked = self.limiter.blocked_for()
        if blocked > MAX_INLINE_WAIT:
            raise ProviderRateLimited(
                f"X asked us to pause; the bridge will try again in {int(blocked) + 1} s.",
                retry_after=blocked,
                network=NETWORK,
                code=429,
            )
        self.limiter.acquire()
        self.stats[endpoint] += 1
        try:
            # Redirects are not followed: a Location from the network may name any host, and the bridge
            # must not call hosts nobody configured. A 3xx is reported as unavailable below.
            response = self._session.request(
                method,
                self.api_url + path,
                params=params,
                json=json_body,
                auth=self._auth,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise ProviderUnavailable(
                "X did not answer in time; the bridge will retry.", network=NETWORK
            ) from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable(
                "Could not reach X (connection failed); the bridge will retry.", network=NETWORK
            ) from exc
        with response:
            self.windows.note(endpoint, response)
            if 300 <= response.status_code < 400:
                # Neither the Location nor the body is quoted: they are the network's text, not ours.
                raise ProviderUnavailable(
                    f"X answered {endpoint} with a redirect (HTTP {response.status_code}) instead of an API "
                    "answer; the bridge did not follow it and will retry. If this persists, check the X API "
                    "address in the bridge settings.",
                    network=NETWORK,
                    code=response.status_code,
                )
            if response.status_code >= 400:
                self._raise_for(response, endpoint, dm_send=dm_send)
            try:
                body = response.json()
            except ValueError:
                body = None
        if not isinstance(body, dict):
            raise ProviderUnavailable(
                f"X answered {endpoint} with something that is not JSON; the bridge will retry.",
                network=NETWORK,
            )
        return body

    def _raise_for(self, response: requests.Response, endpoint: str, *, dm_send: bool) -> None:
        if response.status_code == 429:
            retry_after = self.windows.retry_after(response)
            self.limiter.defer(retry_after)
            self.windows.exhaust(endpoint, retry_after)
            raise rate_limited(endpoint, retry_after)
        raise error_for(response, endpoint, dm_send=dm_send)
