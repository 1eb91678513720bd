"""The HTTP side of the Telegram provider: one JSON POST per method, waits, error mapping, and the token.

Telegram puts the bot token into the URL path (`/bot<token>/<method>`), so everything that could carry a
URL is kept away from errors and logs: exceptions raised here are built outside any `except` block (no
`__context__` that holds a `requests` error with the URL), `repr` never shows the token, and a filter on
urllib3's logger masks it in the debug lines that print request paths.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from providers.botapi import BotTransport, OutcomeUnknown
from providers.telegram.errors import NETWORK, retry_after_of, to_provider_error

log = logging.getLogger(__name__)

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


class TelegramTransport(BotTransport):
    network, display = NETWORK, "Telegram"
    certificate_hint = " Set telegram.ca_bundle to a PEM file that holds the CA which issued its certificate."

    def __init__(self, token: str, **options: Any) -> None:
        super().__init__(**options)
        self._token = token

    def call(self, method: str, params: Mapping[str, Any], *, wait: float = 0.0) -> Any:
        """`result` of one Bot API call; `wait` is how long the server may hold it (getUpdates' timeout).

        Raises:
            OutcomeUnknown: the request may have reached Telegram and no answer came back.
            ProviderUnavailable: it surely did not (connection refused, TLS or proxy failure).
            other ProviderError: Telegram's own refusal (`to_provider_error`).
        """
        answer = self._exchange(
            "POST", f"{self.api_url}/bot{self._token}/{method}", method, wait=wait, json=dict(params)
        )
        body = answer.body
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            # A proxy's or load balancer's page, not Telegram's envelope: the request may have gone through.
            raise OutcomeUnknown(
                f"{self.api_url} answered HTTP {answer.status} without a Bot API answer; if "
                "this persists, check the Telegram API address and proxy in the bridge "
                "settings.",
                network=NETWORK,
                code=answer.status,
            )
        if body["ok"]:
            return body.get("result")
        code = body.get("error_code")
        if code == 429:
            self.limiter.defer(retry_after_of(body))
        if isinstance(code, int) and code >= 500:
            raise OutcomeUnknown(
                f"Telegram had an internal error ({code}); it may still have done what was asked.",
                network=NETWORK,
                code=code,
            )
        raise to_provider_error(body, method)
