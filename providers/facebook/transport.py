"""The Graph API transport behind the Facebook provider: the Page token, requests, paging.

Graph errors arrive as `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}` and are
mapped in `providers.facebook.errors`; a rate-limit answer also defers the limiter
(`providers.facebook.rate`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

import requests

from providers.errors import ProviderError, ProviderUnavailable
from providers.facebook.errors import NETWORK, RATE_LIMIT_CODES, error_for
from providers.facebook.rate import DEFAULT_RETRY_AFTER, retry_after
from providers.ratelimit import RateLimiter

log = logging.getLogger("providers.facebook")


class GraphClient:
    """Sends Graph requests with the Page token and turns error envelopes into provider errors."""

    def __init__(
        self,
        api_url: str,
        token: str,
        app_secret: str | None,
        *,
        limiter: RateLimiter,
        session: requests.Session | None,
        timeout: float,
        human_agent: bool,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        # appsecret_proof proves the call comes from the app's server (Graph "Securing Requests").
        self._proof = (
            hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest() if app_secret else None
        )
        self._limiter = limiter
        self._own_session = session is None
        self._session = session or requests.Session()
        self.timeout = timeout
        self.human_agent = human_agent
        self.stats: Counter[str] = Counter()

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def call(self, method: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        """One Graph call; `params` go in the query string (GET) or the form body (POST)."""
        auth = {"access_token": self._token}
        if self._proof:
            auth["appsecret_proof"] = self._proof
        self._limiter.acquire()
        self.stats["requests"] += 1
        url = f"{self.api_url}/{path}"
        try:
            # Redirects are not followed: a Location from the network may name any host, and a GET's query
            # (with the token) could be carried there. A 3xx is reported as unavailable below.
            if method == "GET":
                resp = self._session.get(
                    url, params={**params, **auth}, timeout=self.timeout, allow_redirects=False
                )
            else:
                resp = self._session.post(
                    url, data={**params, **auth}, timeout=self.timeout, allow_redirects=False
                )
        except requests.RequestException as exc:
            # The exception text can hold the URL with the token: report only its kind, and don't chain it.
            self.stats["unavailable"] += 1
            raise ProviderUnavailable(
                f"Facebook did not answer ({type(exc).__name__}); try again later", network=NETWORK
            ) from None
        if 300 <= resp.status_code < 400:
            resp.close()
            self.stats["unavailable"] += 1
            # Neither the Location nor the body is quoted: the Location may echo the query with the token.
            raise ProviderUnavailable(
                f"Facebook answered with a redirect (HTTP {resp.status_code}) instead of a Graph result; it "
                "was not followed. Try again later; if this persists, check the Facebook API address in the "
                "bridge settings",
                network=NETWORK,
                code=resp.status_code,
            )
        with resp:
            try:
                data = resp.json()
            except ValueError:
                data = None
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            raise self._error(data["error"], resp)
        if resp.status_code >= 400 or not isinstance(data, dict):
            self.stats["unavailable"] += 1
            raise ProviderUnavailable(
                f"Facebook answered HTTP {resp.status_code} without a Graph result; try again later",
                network=NETWORK,
                code=resp.status_code,
            )
        return data

    def pages(self, path: str, params: dict[str, str]) -> Iterable[dict[str, Any]]:
        """Rows of a list edge via `paging.cursors.after` (not `paging.next`: that URL holds the token)."""
        while True:
            page = self.call("GET", path, params)
            yield from page.get("data", [])
            paging = page.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return
            params = {**params, "after": after}

    def _error(self, err: dict[str, Any], resp: requests.Response) -> ProviderError:
        code, sub = err.get("code"), err.get("error_subcode")
        text = str(err.get("message", "")).replace(self._token, "***")
        self.stats[f"error_{code}"] += 1
        log.warning("Facebook error %s/%s: %s (fbtrace_id %s)", code, sub, text, err.get("fbtrace_id"))
        retry = None
        if code in RATE_LIMIT_CODES:
            retry = retry_after(resp)
            self._limiter.defer(retry if retry is not None else DEFAULT_RETRY_AFTER)
            self.stats["rate_limited"] += 1
        return error_for(
            code, sub, text, status=resp.status_code, retry_after=retry, human_agent=self.human_agent
        )
