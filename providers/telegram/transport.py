"""The HTTP side of the Telegram provider: one JSON POST per method, waits, error mapping, and the token.

Telegram puts the bot token into the URL path (`/bot<token>/<method>`), so everything that could carry a
URL is kept away from errors and logs: exceptions raised here are built outside any `except` block (no
`__context__` that holds a `requests` error with the URL), `repr` never shows the token, and a filter on
urllib3's logger masks it in the debug lines that print request paths.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import requests

from providers.botapi import OutcomeUnknown, describe_failure, make_session, unsent
from providers.errors import ProviderRateLimited, ProviderUnavailable
from providers.ratelimit import RateLimiter
from providers.telegram.errors import NETWORK, retry_after_of, to_provider_error

log = logging.getLogger(__name__)

MAX_INLINE_WAIT = 5.0  # a "wait" hint up to this long is slept through; longer ones are raised
CONNECT_TIMEOUT = 10.0
_TOKEN_IN_PATH = re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+")


class _MaskBotTokens(logging.Filter):
    """Masks `/bot<token>` in log records (urllib3 logs request paths at DEBUG)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub("/bot***", message), ()
        return True


_MASK = _MaskBotTokens()
for _name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
    if _MASK not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_MASK)


class TelegramTransport:
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
        self.stats: Counter[str] = Counter()  # HTTP requests per Bot API method

    def __repr__(self) -> str:
        return f"TelegramTransport(api_url={self.api_url!r})"

    def close(self) -> None:
        if self._own_session:
            self._session.close()

    def call(self, method: str, params: Mapping[str, Any], *, wait: float = 0.0) -> Any:
        """`result` of one Bot API call; `wait` is how long the server may hold it (getUpdates' timeout).

        Raises:
            OutcomeUnknown: the request may have reached Telegram and no answer came back.
            ProviderUnavailable: it surely did not (connection refused, TLS or proxy failure) or 5xx.
            other ProviderError: Telegram's own refusal (`to_provider_error`).
        """
        blocked = self.limiter.blocked_for()
        if blocked > MAX_INLINE_WAIT:
            raise ProviderRateLimited(
                f"Telegram asked the bot to pause; the bridge will try again in {int(blocked) + 1} s.",
                retry_after=blocked,
                network=NETWORK,
                code=429,
            )
        self.limiter.acquire()
        self.stats[method] += 1
        failure: requests.RequestException | None = None
        try:
            # No redirects: a Location may name any host, and the token is in the path.
            response = self._session.post(
                f"{self.api_url}/bot{self._token}/{method}",
                json=dict(params),
                timeout=(CONNECT_TIMEOUT, self.timeout + wait),
                allow_redirects=False,
                verify=self._verify,
            )
        except requests.RequestException as exc:
            failure = exc
        if failure is not None:
            raise self._transport_error(failure)  # outside the except block: no __context__ with the URL
        with response:
            status = response.status_code
            try:
                body = response.json()
            except ValueError:
                body = None
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            # A proxy's or load balancer's page, not Telegram's envelope: the request may have gone through.
            raise OutcomeUnknown(
                f"{self.api_url} answered HTTP {status} without a Bot API answer; if this "
                "persists, check the Telegram API address and proxy in the bridge settings.",
                network=NETWORK,
                code=status,
            )
        if body["ok"]:
            return body.get("result")
        if body.get("error_code") == 429:
            self.limiter.defer(retry_after_of(body))
        if isinstance(body.get("error_code"), int) and body["error_code"] >= 500:
            raise OutcomeUnknown(
                f"Telegram had an internal error ({body['error_code']}); it may still have "
                "done what was asked.",
                network=NETWORK,
                code=body["error_code"],
            )
        raise to_provider_error(body, method)

    def _transport_error(self, exc: requests.RequestException) -> ProviderUnavailable:
        what = describe_failure(exc)
        hint = (
            " Set telegram.ca_bundle to a PEM file that holds the issuing CA."
            if "certificate" in what
            else " If Telegram is blocked on this network, set a proxy in the bridge settings."
        )
        message = f"Telegram at {self.api_url} could not be reached: {what}.{hint}"
        if unsent(exc):
            return ProviderUnavailable(message, network=NETWORK)
        return OutcomeUnknown(message, network=NETWORK)
