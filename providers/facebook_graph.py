"""The Graph API transport behind `providers.facebook`: token handling, the error envelope, time and cursors.

Graph errors arrive as `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`
(developers.facebook.com/docs/graph-api/guides/error-handling, /docs/messenger-platform/error-codes).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

import requests

from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.ratelimit import RateLimiter

log = logging.getLogger("providers.facebook")

NETWORK = "facebook"
GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80006})
AUTH_CODES = frozenset({102, 104, 190})
TRANSIENT_CODES = frozenset({1, 2})
PERMISSION_CODES = frozenset({10, 200, 230, 10903, 10904})
WINDOW_SUBCODES = frozenset({2018278, 2018065})  # "sent outside of allowed window" (current / older)
UNKNOWN_PSID_SUBCODES = frozenset({2018001, 33})  # "No matching user found" / object does not exist
DEFAULT_RETRY_AFTER = 60.0


def parse_time(value: str) -> dt.datetime:
    """A Graph timestamp ("2026-03-02T09:00:00+0000") as an aware UTC datetime."""
    return dt.datetime.strptime(value, GRAPH_TIME).astimezone(dt.UTC)


def encode_cursor(since: dt.datetime, seen: Iterable[str]) -> str:
    raw = json.dumps({"since": since.strftime(GRAPH_TIME), "seen": sorted(seen)}, separators=(",", ":"))
    return "fb1." + base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, set[str]]:
    try:
        if not cursor.startswith("fb1."):
            raise ValueError("unknown cursor version")
        data = json.loads(base64.urlsafe_b64decode(cursor[4:].encode()))
        return parse_time(data["since"]), set(data["seen"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a Facebook message cursor: {cursor[:40]!r}") from exc


def window_closed(last: dt.datetime | None, *, human_agent: bool) -> ProviderNotAllowed:
    when = f" (the client last wrote {last:%Y-%m-%d %H:%M} UTC)" if last else ""
    limit = "7 days (HUMAN_AGENT tag)" if human_agent else "24 hours"
    return ProviderNotAllowed(
        f"Facebook lets a Page reply only within {limit} of the client's last message{when}; "
        "the client must write to the Page again", reason=NotAllowedReason.WINDOW_CLOSED,
        network=NETWORK, code=10)


class GraphClient:
    """Sends Graph requests with the Page token and turns error envelopes into provider errors."""

    def __init__(self, api_url: str, token: str, app_secret: str | None, *, limiter: RateLimiter,
                 session: requests.Session | None, timeout: float, human_agent: bool) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = token
        # appsecret_proof proves the call comes from the app's server (Graph "Securing Requests").
        self._proof = (hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
                       if app_secret else None)
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
                resp = self._session.get(url, params={**params, **auth}, timeout=self.timeout,
                                         allow_redirects=False)
            else:
                resp = self._session.post(url, data={**params, **auth}, timeout=self.timeout,
                                          allow_redirects=False)
        except requests.RequestException as exc:
            # The exception text can hold the URL with the token: report only its kind, and don't chain it.
            self.stats["unavailable"] += 1
            raise ProviderUnavailable(f"Facebook did not answer ({type(exc).__name__}); try again later",
                                      network=NETWORK) from None
        if 300 <= resp.status_code < 400:
            resp.close()
            self.stats["unavailable"] += 1
            # Neither the Location nor the body is quoted: the Location may echo the query with the token.
            raise ProviderUnavailable(
                f"Facebook answered with a redirect (HTTP {resp.status_code}) instead of a Graph result; it "
                "was not followed. Try again later; if this persists, check the Facebook API address in the "
                "bridge settings", network=NETWORK, code=resp.status_code)
        with resp:
            try:
                data = resp.json()
            except ValueError:
                data = None
        if isinstance(data, dict) and isinstance(data.get("error"), dict):
            raise self._error(data["error"], resp)
        if resp.status_code >= 400 or not isinstance(data, dict):
            self.stats["unavailable"] += 1
            raise ProviderUnavailable(f"Facebook answered HTTP {resp.status_code} without a Graph result; "
                                      "try again later", network=NETWORK, code=resp.status_code)
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
        if code in AUTH_CODES:
            return ProviderAuthError(f"Facebook refused the Page token ({text}); reconnect the Page",
                                     network=NETWORK, code=code)
        if code in RATE_LIMIT_CODES:
            retry = retry_after(resp)
            self._limiter.defer(retry if retry is not None else DEFAULT_RETRY_AFTER)
            self.stats["rate_limited"] += 1
            return ProviderRateLimited(f"Facebook asks to slow down ({text})", retry_after=retry,
                                       network=NETWORK, code=code)
        if code == 10 and sub in WINDOW_SUBCODES:
            return window_closed(None, human_agent=self.human_agent)
        if code == 551:
            return ProviderNotAllowed(
                "This person isn't available on Messenger right now (they may have blocked the Page); "
                "they must write to the Page again", code=code, reason=NotAllowedReason.NO_CONVERSATION,
                network=NETWORK)
        if code == 100 and sub in UNKNOWN_PSID_SUBCODES:
            return ProviderNotFound(f"Facebook does not know this person for the Page ({text})",
                                    network=NETWORK, code=code)
        if code in PERMISSION_CODES or (isinstance(code, int) and 200 <= code < 300):
            return ProviderNotAllowed(f"The Page token lacks a permission ({text})", network=NETWORK,
                                      code=code, reason=NotAllowedReason.PERMISSION_DENIED)
        if code in TRANSIENT_CODES or resp.status_code >= 500:
            return ProviderUnavailable(f"Facebook had a temporary problem ({text})", network=NETWORK,
                                       code=code)
        return ProviderError(f"Facebook refused the request ({text})", network=NETWORK, code=code)


def retry_after(resp: requests.Response) -> float | None:
    """Seconds to wait, from `estimated_time_to_regain_access` (minutes) in the usage headers, or None."""
    minutes: list[float] = []
    for header in ("X-Business-Use-Case-Usage", "X-Page-Usage", "X-App-Usage"):
        try:
            usage = json.loads(resp.headers.get(header) or "{}")
        except ValueError:
            continue
        if not isinstance(usage, dict):
            continue
        # Business-use-case usage is {business_id: [entry, ...]}; the app/page headers are one flat entry.
        entries = [e for v in usage.values() if isinstance(v, list) for e in v] + [usage]
        for entry in entries:
            value = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
            if isinstance(value, int | float) and value > 0:
                minutes.append(float(value))
    return max(minutes) * 60.0 if minutes else None
