"""The HTTP side of the MAX provider: `Authorization: <token>` (never a query parameter), JSON, errors, waits.

MAX's host (`platform-api2.max.ru` since mid-2026) presents a chain ending at the Russian Ministry of
Digital Development root, which default CA bundles lack: `ca_bundle` names a PEM file that holds it. A
certificate failure says so in the error instead of suggesting anything that weakens verification.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from providers.botapi import BotTransport, OutcomeUnknown
from providers.max.errors import NETWORK, to_provider_error
from providers.max.rate import BACKOFF_FIRST, BACKOFF_MAX


class MaxTransport(BotTransport):
    network, display = NETWORK, "MAX"
    certificate_hint = (
        " MAX's certificate chain ends at the Russian Trusted Root CA (Минцифры), which "
        "default bundles lack: set max.ca_bundle to a PEM file that holds it."
    )

    def __init__(self, token: str, **options: Any) -> None:
        super().__init__(**options)
        self._token = token
        self._backoff = 0.0  # the current 429 backoff, doubled per 429 in a row

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
            ProviderUnavailable: it surely did not.
            other ProviderError: MAX's refusal (`to_provider_error`).
        """
        query = {
            key: str(value).lower() if isinstance(value, bool) else str(value)
            for key, value in (params or {}).items()
            if value is not None
        }
        answer = self._exchange(
            method,
            self.api_url + path,
            operation,
            wait=wait,
            params=query,
            json=dict(body) if body is not None else None,
            headers={"Authorization": self._token},
        )
        status, reply = answer.status, answer.body
        if 200 <= status < 300 and reply is not None:
            self._backoff = 0.0
            return reply
        if not isinstance(reply, dict) or not isinstance(reply.get("code"), str):
            raise OutcomeUnknown(
                f"{self.api_url} answered {operation} with HTTP {status} and no MAX answer; "
                "if this persists, check the MAX API address in the bridge settings.",
                network=NETWORK,
                code=status,
            )
        retry_after = _retry_after(answer.headers.get("Retry-After"))
        if status == 429:
            self._backoff = min(BACKOFF_MAX, self._backoff * 2 if self._backoff else BACKOFF_FIRST)
            retry_after = retry_after or self._backoff
            self.limiter.defer(retry_after)
        if status >= 500:
            raise OutcomeUnknown(
                f"MAX had an internal error ({status}) on {operation}; it may still have "
                "done what was asked.",
                network=NETWORK,
                code=reply.get("code") or status,
            )
        raise to_provider_error(status, reply, operation, retry_after=retry_after)


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    return seconds if seconds and seconds > 0 else None
