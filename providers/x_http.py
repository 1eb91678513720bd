"""The HTTP side of the X provider: OAuth 1.0a signing, rate windows, and error mapping.

X rate-limits per token *and endpoint* in 15-minute windows and says so in every answer
(`x-rate-limit-limit/remaining/reset`, reset in epoch seconds). We remember each endpoint's window and
refuse locally when it is spent, so an exhausted window costs no request (DM calls cost money); the
shared `RateLimiter` adds the local budget and the server's "wait" hints after a 429.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
from requests_oauthlib import OAuth1  # type: ignore[import-untyped]

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

log = logging.getLogger(__name__)

NETWORK = "x"
# Waits up to this long are slept through; longer ones are raised so the bridge can reschedule.
MAX_INLINE_WAIT = 5.0
DEFAULT_RETRY_AFTER = 60.0  # a 429 without a usable reset header


def problem_of(response: requests.Response) -> dict[str, Any]:
    """The RFC-7807 problem (type, title, detail, ...) of an error answer; {} when there is none.

    X also still answers some errors v1.1-style (`{"errors": [{"code", "message"}]}`); the first one
    is folded into the same keys.
    """
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    if "title" in body or "detail" in body or "type" in body:
        return body
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return {"type": first.get("type", ""), "title": first.get("title", ""),
                "detail": first.get("detail") or first.get("message", ""), "code": first.get("code")}
    return {}


def dm_refusal_reason(problem: dict[str, Any]) -> NotAllowedReason:
    """Why X refused a DM (403), from the problem's wording.

    "not following you" / "does not accept" means the person only takes DMs from people they follow:
    they have not opted in to ours. "cannot send messages to this user" is a block or a privacy
    setting. A client-forbidden problem or a bare "Forbidden" is about our app (tier, missing dm.*
    scope), not about the person.
    """
    text = " ".join(str(problem.get(k, "")) for k in ("type", "title", "detail", "reason")).lower()
    if "client-forbidden" in text or "client-not-enrolled" in text or "unsupported-authentication" in text:
        return NotAllowedReason.PERMISSION_DENIED
    if "not following" in text or "not accept" in text or "receive" in text:
        return NotAllowedReason.NOT_OPTED_IN
    if "send messages to this user" in text or "blocked" in text or "not-authorized-for-resource" in text:
        return NotAllowedReason.PRIVACY
    return NotAllowedReason.PERMISSION_DENIED


class XTransport:
    """Signed requests to the X API with per-endpoint windows; raises `providers.errors` only."""

    def __init__(self, auth: OAuth1, *, api_url: str, rate_limiter: RateLimiter | None,
                 session: requests.Session | None, timeout: float, clock: Callable[[], float],
                 sleep: Callable[[float], None], wall_clock: Callable[[], float] = time.time) -> None:
        self._auth = auth
        self.api_url = api_url.rstrip("/")
        # X's user limits are per 15 minutes; 1 request/s with bursts of 10 keeps a daemon polite.
        self.limiter = rate_limiter or RateLimiter(1.0, 10, clock=clock, sleep=sleep)
        self._own_session = session is None
        self._session = session or requests.Session()
        self._timeout = timeout
        self._sleep = sleep
        self._wall = wall_clock
        self.stats: Counter[str] = Counter()
        self.windows: dict[str, tuple[int, float]] = {}  # endpoint -> (remaining, reset epoch)

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    # --- windows ----------------------------------------------------------------------------------
    def _wait_for_window(self, endpoint: str) -> None:
        remaining, reset = self.windows.get(endpoint, (1, 0.0))
        wait = reset - self._wall()
        if remaining > 0 or wait <= 0:
            return
        if wait > MAX_INLINE_WAIT:
            raise ProviderRateLimited(
                f"X's limit for {endpoint} is used up for this 15-minute window; "
                f"the bridge will try again in {int(wait) + 1} s.",
                retry_after=wait, network=NETWORK, code="window-exhausted")
        self._sleep(wait)

    def _note_window(self, endpoint: str, response: requests.Response) -> None:
        remaining = response.headers.get("x-rate-limit-remaining")
        reset = response.headers.get("x-rate-limit-reset")
        if remaining is None or reset is None:
            return
        try:
            self.windows[endpoint] = (int(remaining), float(reset))
        except ValueError:
            log.warning("X sent unreadable rate-limit headers for %s", endpoint)

    # --- requests ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, endpoint: str, *, params: dict[str, str] | None = None,
                json_body: dict[str, Any] | None = None, dm_send: bool = False) -> dict[str, Any]:
        """One call; `endpoint` names it for stats and windows ("POST /2/dm_conversations/...")."""
        self._wait_for_window(endpoint)
        blocked = self.limiter.blocked_for()
        if blocked > MAX_INLINE_WAIT:
            raise ProviderRateLimited(
                f"X asked us to pause; the bridge will try again in {int(blocked) + 1} s.",
                retry_after=blocked, network=NETWORK, code=429)
        self.limiter.acquire()
        self.stats[endpoint] += 1
        try:
            # Redirects are not followed: a Location from the network may name any host, and the bridge
            # must not call hosts nobody configured. A 3xx is reported as unavailable below.
            response = self._session.request(method, self.api_url + path, params=params, json=json_body,
                                             auth=self._auth, timeout=self._timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise ProviderUnavailable("X did not answer in time; the bridge will retry.",
                                      network=NETWORK) from exc
        except requests.RequestException as exc:
            raise ProviderUnavailable("Could not reach X (connection failed); the bridge will retry.",
                                      network=NETWORK) from exc
        with response:
            self._note_window(endpoint, response)
            if 300 <= response.status_code < 400:
                # Neither the Location nor the body is quoted: they are the network's text, not ours.
                raise ProviderUnavailable(
                    f"X answered {endpoint} with a redirect (HTTP {response.status_code}) instead of an API "
                    "answer; the bridge did not follow it and will retry. If this persists, check the X API "
                    "address in the bridge settings.", network=NETWORK, code=response.status_code)
            if response.status_code >= 400:
                self._raise_for(response, endpoint, dm_send=dm_send)
            try:
                body = response.json()
            except ValueError:
                body = None
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"X answered {endpoint} with something that is not JSON; "
                                      "the bridge will retry.", network=NETWORK)
        return body

    def _raise_for(self, response: requests.Response, endpoint: str, *, dm_send: bool) -> None:
        status = response.status_code
        problem = problem_of(response)
        code = problem.get("type") or status
        detail = str(problem.get("detail") or problem.get("title") or "").strip()
        if status == 429:
            retry_after = self._retry_after(response)
            self.limiter.defer(retry_after)
            self.windows[endpoint] = (0, self._wall() + retry_after)
            raise ProviderRateLimited(f"X's rate limit was reached for {endpoint}; the bridge will try again "
                                      f"in {int(retry_after) + 1} s.", retry_after=retry_after,
                                      network=NETWORK, code=429)
        if status == 401:
            raise ProviderAuthError("X rejected the app's credentials (401). Reconnect the X account in the "
                                    "bridge settings: the access token may have been revoked.",
                                    network=NETWORK, code=code)
        if status == 403:
            reason = dm_refusal_reason(problem) if dm_send else NotAllowedReason.PERMISSION_DENIED
            message = {
                NotAllowedReason.NOT_OPTED_IN: "This person does not accept direct messages from our X "
                                               "account (they only take DMs from people they follow).",
                NotAllowedReason.PRIVACY: "X does not let our account message this person (blocked or "
                                          "privacy settings).",
            }.get(reason, "X refused the request: the app's access tier or permissions (dm.read/dm.write) "
                          "do not allow it.")
            raise ProviderNotAllowed(message + (f" X said: {detail}" if detail else ""), reason=reason,
                                     network=NETWORK, code=code)
        if status == 404:
            raise ProviderNotFound("This X account does not exist or was suspended."
                                   + (f" X said: {detail}" if detail else ""), network=NETWORK, code=code)
        if status >= 500:
            raise ProviderUnavailable(f"X had an internal error ({status}); the bridge will retry.",
                                      network=NETWORK, code=status)
        raise ProviderError(f"X refused {endpoint} ({status})" + (f": {detail}" if detail else "."),
                            network=NETWORK, code=code)

    def _retry_after(self, response: requests.Response) -> float:
        try:
            reset = float(response.headers["x-rate-limit-reset"])
        except (KeyError, ValueError):
            return DEFAULT_RETRY_AFTER
        return max(0.0, reset - self._wall())
