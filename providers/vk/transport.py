"""The HTTP side of the VK provider: one POST per call, `execute` batching, retries, error mapping.

Every request is a form-encoded POST to `{api_url}{method}` with an explicit `v`; the token travels
only in the `Authorization: Bearer` header, so it never appears in a URL, a log line or an error.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import requests

from providers.errors import ProviderUnavailable
from providers.ratelimit import RateLimiter, Sleep
from providers.vk.errors import (
    NETWORK,
    RETRIED_INSIDE_CALL,
    RPS_RETRY_AFTER,
    TOO_MANY_RPS,
    VkCallError,
    to_provider_error,
)

log = logging.getLogger(__name__)

MAX_EXECUTE_CALLS = 25  # VK: execute runs at most 25 API calls
MAX_RETRIES = 3  # for errors 6 and 10, inside one provider call
BACKOFF = (0.5, 1.0, 2.0)  # seconds before retry n after error 10

Params = Mapping[str, object]


def _form_value(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def execute_code(calls: Sequence[tuple[str, Params]]) -> str:
    """VKScript `return [API.x.y({...}), ...];` for `calls`; JSON objects are valid VKScript."""
    parts = []
    for method, params in calls:
        args = {key: _form_value(value) for key, value in params.items()}
        parts.append(f"API.{method}({json.dumps(args, ensure_ascii=False, separators=(',', ':'))})")
    return "return [" + ",".join(parts) + "];"


class VkTransport:
    def __init__(
        self,
        token: str,
        *,
        api_url: str,
        api_version: str,
        limiter: RateLimiter,
        session: requests.Session | None,
        timeout: float,
        sleep: Sleep,
    ) -> None:
        self._token = token
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.api_version = api_version
        self.limiter = limiter
        self._own_session = session is None
        self.session = session or requests.Session()
        self.timeout = timeout
        self._sleep = sleep
        self.stats: Counter[str] = Counter()  # HTTP requests per VK method ("execute" included)

    def __repr__(self) -> str:  # never show the token
        return f"VkTransport(api_url={self.api_url!r}, v={self.api_version})"

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    # --- one HTTP request -----------------------------------------------------------------------
    def _post(self, method: str, params: Params) -> dict[str, Any]:
        data = {key: _form_value(value) for key, value in params.items()}
        data["v"] = self.api_version
        self.limiter.acquire()
        self.stats[method] += 1
        try:
            # Redirects are not followed: a Location from the network may name any host. requests would
            # drop the Authorization header there, but the bridge must not call hosts nobody configured.
            response = self.session.post(
                f"{self.api_url}{method}",
                data=data,
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self._token}"},
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # The exception text may carry the URL (never the token), but keep it out anyway.
            raise ProviderUnavailable(
                f"VK did not answer at {self.api_url} ({type(exc).__name__}); the "
                "bridge will try again later. If this persists, check the VK API "
                "address (api_url) in the bridge settings and the network.",
                network=NETWORK,
            ) from None
        if 300 <= response.status_code < 400:
            # Neither the Location nor the body is quoted: they are the network's text, not ours.
            raise ProviderUnavailable(
                f"VK answered with a redirect (HTTP {response.status_code}) instead of "
                "an API answer; the bridge did not follow it and will try again later. "
                "If this persists, check the VK API address in the bridge settings.",
                network=NETWORK,
                code=response.status_code,
            )
        if 400 <= response.status_code < 500:
            # VK answers its own errors with 200: a 4xx comes from something that is not the VK API.
            raise ProviderUnavailable(
                f"{self.api_url} answered HTTP {response.status_code}, which the VK "
                "API never does: check the VK API address (api_url) in the bridge "
                "settings.",
                network=NETWORK,
                code=response.status_code,
            )
        if response.status_code != 200:
            raise ProviderUnavailable(
                f"VK answered HTTP {response.status_code}; the bridge will try again later.",
                network=NETWORK,
                code=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            raise ProviderUnavailable(
                f"{self.api_url} answered with something that is not JSON; if this "
                "persists, check the VK API address (api_url) in the bridge settings.",
                network=NETWORK,
            ) from None
        if not isinstance(body, dict) or ("response" not in body and "error" not in body):
            raise ProviderUnavailable(
                f"{self.api_url} answered without a VK response; if this persists, "
                "check the VK API address (api_url) in the bridge settings.",
                network=NETWORK,
            )
        return body

    def _attempt(self, method: str, params: Params) -> dict[str, Any] | VkCallError:
        """One call with VK's transient errors (6, 10) retried, bounded, on the injected clock."""
        attempt = 0
        while True:
            body = self._post(method, params)
            error = body.get("error")
            if error is None:
                return body
            err = VkCallError(
                int(error.get("error_code", 0)),
                str(error.get("error_msg", "")),
                method,
                {k: v for k, v in error.items() if k in ("captcha_sid", "captcha_img")},
            )
            if err.code in RETRIED_INSIDE_CALL and attempt < MAX_RETRIES:
                self._wait_before_retry(err.code, attempt)
                attempt += 1
                continue
            if err.code == TOO_MANY_RPS:
                # The caller gets ProviderRateLimited(retry_after=RPS_RETRY_AFTER); the limiter must hold
                # the next request (from any caller sharing the token) for that long too, or it goes out
                # at once and earns another error 6.
                self.limiter.defer(RPS_RETRY_AFTER)
            log.warning("VK %s failed with error %s", method, err.code)
            return err

    def _request(self, method: str, params: Params) -> dict[str, Any]:
        result = self._attempt(method, params)
        if isinstance(result, VkCallError):
            raise to_provider_error(result)
        return result

    def _wait_before_retry(self, code: int, attempt: int) -> None:
        if code == TOO_MANY_RPS:
            # The limiter owns the wait so every caller sharing the token slows down too.
            self.limiter.defer(RPS_RETRY_AFTER)
        else:
            self._sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])

    def call(self, method: str, params: Params) -> Any:
        return self._request(method, params)["response"]

    # --- execute --------------------------------------------------------------------------------
    def batch(self, calls: Sequence[tuple[str, Params]]) -> list[Any]:
        """Run `calls` in as few requests as possible; failed calls come back as `VkCallError`.

        One call goes out as itself; more are packed 25 per `execute`. Failures (a plain error, or
        `false` + `execute_errors`) are returned in place so the caller decides (113 in a users.get
        batch just means "nobody known here"). Per-call 6/10 failures are re-run, bounded.
        """
        if len(calls) == 1:
            result = self._attempt(*calls[0])
            return [result if isinstance(result, VkCallError) else result["response"]]
        results: list[Any] = [None] * len(calls)
        pending = list(range(len(calls)))
        for attempt in range(MAX_RETRIES + 1):
            retry: list[int] = []
            for start in range(0, len(pending), MAX_EXECUTE_CALLS):
                chunk = pending[start : start + MAX_EXECUTE_CALLS]
                for index, result in zip(chunk, self._execute([calls[i] for i in chunk]), strict=True):
                    results[index] = result
                    if isinstance(result, VkCallError) and result.code in RETRIED_INSIDE_CALL:
                        retry.append(index)
            if not retry:
                break
            if attempt == MAX_RETRIES:
                if any(results[i].code == TOO_MANY_RPS for i in retry):
                    # As in _attempt: the caller may raise these as rate-limited, so hold the next request.
                    self.limiter.defer(RPS_RETRY_AFTER)
                break
            self._wait_before_retry(results[retry[0]].code, attempt)
            pending = retry
        return results

    def _execute(self, calls: Sequence[tuple[str, Params]]) -> list[Any]:
        body = self._request("execute", {"code": execute_code(calls)})
        values = body.get("response")
        if not isinstance(values, list) or len(values) != len(calls):
            raise ProviderUnavailable(
                "VK answered an execute request in an unexpected shape.", network=NETWORK
            )
        errors = iter(body.get("execute_errors") or [])
        out: list[Any] = []
        for (method, _), value in zip(calls, values, strict=True):
            if value is False:
                # VK lists failures in call order, one per `false`.
                failure: dict[str, Any] = next(errors, {})
                out.append(
                    VkCallError(
                        int(failure.get("error_code", 1)),
                        str(failure.get("error_msg", "")),
                        str(failure.get("method", method)),
                    )
                )
            else:
                out.append(value)
        return out


def raise_unless(result: Any, *benign_codes: int) -> Any:
    """`result` itself, None for a benign VK error, or the mapped ProviderError raised."""
    if isinstance(result, VkCallError):
        if result.code in benign_codes:
            return None
        raise to_provider_error(result)
    return result
