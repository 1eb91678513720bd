"""The HTTP side of the MAX provider: `Authorization: <token>` (never a query parameter), JSON, errors, waits.

MAX's host (`platform-api2.max.ru` since mid-2026) presents a chain ending at the Russian Ministry of
Digital Development root, which default CA bundles lack: `ca_bundle` names a PEM file that holds it. A
certificate failure says so in the error instead of suggesting anything that weakens verification.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import requests

from providers.botapi import OutcomeUnknown, describe_failure, make_session, unsent
from providers.errors import ProviderRateLimited, ProviderUnavailable
from providers.max.errors import BACKOFF_FIRST, BACKOFF_MAX, NETWORK, to_provider_error
from providers.ratelimit import RateLimiter

log = logging.getLogger(__name__)

MAX_INLINE_WAIT = 5.0
CONNECT_TIMEOUT = 10.0


class MaxTransport:
    def __init__(
        self,
        token: str,
        *,
        api_url: str,
        limiter: RateLimiter,
        session: requests.Session | None,
        proxy_url: str | None,
        ca_bundle: str | None,
        timeout: float,
    ) -> None:
        self._token = token
        self.api_url = api_url.rstrip("/")
        self.limiter = limiter
        self._own_session = session is None
        self._session = make_session(session, proxy_url=proxy_url)
        self._verify: str | bool = ca_bundle or True
        self.timeout = timeout
        self.stats: Counter[str] = Counter()  # HTTP requests per "METHOD /path-template"
        self._backoff = 0.0  # the current 429 backoff, doubled per 429 in a row

    def __repr__(self) -> str:
        return f"MaxTransport(api_url={self.api_url!r})"

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        params: Mapping[str, object] | None = None,
        body: Mapping[str, Any] | None = None,
        wait: float = 0.0,
    ) -> Any:
        """The JSON answer of one call; `operation` names it for stats and errors ("POST /messages").

        Raises:
            OutcomeUnknown: the request may have reached MAX and no answer came back.
            ProviderUnavailable: it surely did not, or MAX answered 5xx.
            other ProviderError: MAX's refusal (`to_provider_error`).
        """
        blocked = self.limiter.blocked_for()
        if blocked > MAX_INLINE_WAIT:
            raise ProviderRateLimited(
                f"MAX asked the bot to pause; the bridge will try again in {int(blocked) + 1} s.",
                retry_after=blocked,
                network=NETWORK,
                code=429,
            )
        self.limiter.acquire()
        self.stats[operation] += 1
        query = {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in (params or {}).items()
            if value is not None
        }
        failure: requests.RequestException | None = None
        try:
            response = self._session.request(
                method,
                self.api_url + path,
                params=query,
                json=dict(body) if body is not None else None,
                headers={"Authorization": self._token},
                timeout=(CONNECT_TIMEOUT, self.timeout + wait),
                allow_redirects=False,
                verify=self._verify,
            )
        except requests.RequestException as exc:
            failure = exc
        if failure is not None:
            raise self._transport_error(failure)
        with response:
            status = response.status_code
            retry_after = _retry_after(response.headers.get("Retry-After"))
            try:
                answer = response.json()
            except ValueError:
                answer = None
        if 200 <= status < 300 and answer is not None:
            self._backoff = 0.0
            return answer
        if not isinstance(answer, dict) or not isinstance(answer.get("code"), str):
            raise OutcomeUnknown(
                f"{self.api_url} answered {operation} with HTTP {status} and no MAX answer; "
                "if this persists, check the MAX API address in the bridge settings.",
                network=NETWORK,
                code=status,
            )
        if status == 429:
            self._backoff = min(BACKOFF_MAX, self._backoff * 2 if self._backoff else BACKOFF_FIRST)
            retry_after = retry_after or self._backoff
            self.limiter.defer(retry_after)
        if status >= 500:
            raise OutcomeUnknown(
                f"MAX had an internal error ({status}) on {operation}; it may still have done "
                "what was asked.",
                network=NETWORK,
                code=answer.get("code") or status,
            )
        raise to_provider_error(status, answer, operation, retry_after=retry_after)

    def _transport_error(self, exc: requests.RequestException) -> ProviderUnavailable:
        what = describe_failure(exc)
        hint = (
            " MAX's certificate chain ends at the Russian Trusted Root CA (Минцифры), which default "
            "bundles lack: set max.ca_bundle to a PEM file that holds it."
            if "certificate" in what
            else " Check the MAX API address and the network."
        )
        message = f"MAX at {self.api_url} could not be reached: {what}.{hint}"
        if unsent(exc):
            return ProviderUnavailable(message, network=NETWORK)
        return OutcomeUnknown(message, network=NETWORK)


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds and seconds > 0 else None
