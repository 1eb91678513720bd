"""Telegram's error envelope (`{"ok": false, "error_code", "description", "parameters"}`) -> provider errors.

`error_code` follows the HTTP status; the `description` strings are not documented (contracts/
telegram-bot-api/README.md), so they only refine a class the code already chose, with a fallback.
"""

from __future__ import annotations

from typing import Any

from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderConflict,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)

NETWORK = "telegram"
DEFAULT_RETRY_AFTER = 5.0  # a 429 without parameters.retry_after


def retry_after_of(body: dict[str, Any]) -> float:
    params = body.get("parameters")
    value = params.get("retry_after") if isinstance(params, dict) else None
    return float(value) if isinstance(value, int | float) and value > 0 else DEFAULT_RETRY_AFTER


def to_provider_error(body: dict[str, Any], method: str) -> ProviderError:
    """The provider error for an `ok: false` answer to `method`."""
    code = body.get("error_code")
    described = str(body.get("description") or "")
    text = described.lower()
    said = f" Telegram said: {described}" if described else ""
    if code == 429:
        wait = retry_after_of(body)
        return ProviderRateLimited(
            f"Telegram asks the bot to slow down; the bridge will try again in {int(wait + 0.999)} s.",
            retry_after=wait,
            network=NETWORK,
            code=429,
        )
    # 401 for a well-formed token Telegram does not know, 404 "Not Found" for a malformed one.
    if code == 401 or (code == 404 and text.strip() in ("not found", "")):
        return ProviderAuthError(
            "Telegram rejected the bot token (it was revoked or mistyped). Copy the "
            "token from @BotFather into the bridge settings.",
            network=NETWORK,
            code=code,
        )
    if code == 409:
        webhook = "webhook" in text
        if webhook:
            message = (
                "A webhook is set for this bot, so Telegram gives the bridge no updates. Remove it "
                "(or allow the bridge to take over the webhook in its settings)."
            )
        else:
            message = (
                "Another program is reading this bot's updates with the same token. Run exactly one "
                "bridge (one poller) per bot token."
            )
        return ProviderConflict(message + said, webhook=webhook, network=NETWORK, code=409)
    if code == 403:
        if "blocked" in text:
            return ProviderNotAllowed(
                "The client blocked the bot in Telegram; they must unblock it (press "
                "Start again) before the bot can write.",
                reason=NotAllowedReason.BLACKLISTED,
                network=NETWORK,
                code=403,
            )
        if "initiate" in text:
            return ProviderNotAllowed(
                "A Telegram bot cannot start a conversation: the client must open the "
                "bot and press Start first (send them the invitation link).",
                reason=NotAllowedReason.NOT_OPTED_IN,
                network=NETWORK,
                code=403,
            )
        if "deactivated" in text:
            return ProviderNotFound("This Telegram account was deleted." + said, network=NETWORK, code=403)
        return ProviderNotAllowed(
            "Telegram does not let the bot do this." + said,
            reason=NotAllowedReason.PERMISSION_DENIED,
            network=NETWORK,
            code=403,
        )
    if code == 400 and ("chat not found" in text or "user not found" in text or "peer_id_invalid" in text):
        return ProviderNotFound(
            "Telegram knows no chat with this id for the bot: the client never started "
            "it, or the id is wrong.",
            network=NETWORK,
            code=400,
        )
    if code == 400 and "too long" in text:
        return ProviderNotAllowed(
            "Telegram refused the text as too long." + said,
            reason=NotAllowedReason.UNSUPPORTED_BY_NETWORK,
            network=NETWORK,
            code=400,
        )
    if isinstance(code, int) and code >= 500:
        return ProviderUnavailable(
            f"Telegram had an internal error ({code}); the bridge will try again.", network=NETWORK, code=code
        )
    return ProviderError(f"Telegram refused {method} ({code}).{said}", network=NETWORK, code=code)
