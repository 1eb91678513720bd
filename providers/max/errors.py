"""MAX's error answers (a non-2xx status with `{"code": "<dotted.key>", "message": "..."}`) -> errors.

Seen codes (contracts/max-bot-api/README.md): `verify.token` (401), `chat.denied` (403: the person stopped
or removed the bot, `Key: error.dialog.suspended`, or never started it), `attachment.not.ready`. 429 has no
documented code and no retry-after hint: the transport backs off (`rate.py`) unless a `Retry-After`
header says otherwise.
"""

from __future__ import annotations

from typing import Any

from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.max.rate import BACKOFF_FIRST

NETWORK = "max"


def to_provider_error(
    status: int, body: dict[str, Any], operation: str, *, retry_after: float | None = None
) -> ProviderError:
    code = str(body.get("code") or "")
    message = str(body.get("message") or "")
    said = f" MAX said: {message}" if message else ""
    if status == 429:
        wait = retry_after or BACKOFF_FIRST
        return ProviderRateLimited(
            f"MAX asks the bot to slow down; the bridge will try again in {int(wait + 0.999)} s.",
            retry_after=wait,
            network=NETWORK,
            code=code or 429,
        )
    if status == 401 or code == "verify.token":
        return ProviderAuthError(
            "MAX rejected the bot token (revoked, mistyped, or the bot was blocked by "
            "moderation). Copy the token from business.max.ru (Чат-боты → Настройки) into "
            "the bridge settings.",
            network=NETWORK,
            code=code or status,
        )
    if code == "chat.denied" or status == 403:
        if "suspended" in message or "removed" in message:
            return ProviderNotAllowed(
                "The client stopped or removed the bot in MAX; they must press Start "
                "again before the bot can write.",
                reason=NotAllowedReason.BLACKLISTED,
                network=NETWORK,
                code=code or status,
            )
        return ProviderNotAllowed(
            "A MAX bot cannot start a conversation: the client must open the bot and "
            "press Start first (send them the invitation link)." + said,
            reason=NotAllowedReason.NOT_OPTED_IN,
            network=NETWORK,
            code=code or status,
        )
    if status == 404:
        return ProviderNotFound(
            "MAX knows no such user or chat for this bot." + said, network=NETWORK, code=code or status
        )
    if status >= 500 or code == "attachment.not.ready":
        return ProviderUnavailable(
            f"MAX could not do {operation} now ({status}); the bridge will try again.",
            network=NETWORK,
            code=code or status,
        )
    return ProviderError(f"MAX refused {operation} ({status}).{said}", network=NETWORK, code=code or status)
