"""The Telegram Bot API sandbox (see `sandbox.telegram.server.TelegramSandbox`)."""

from __future__ import annotations

from sandbox.telegram.model import BotApiError
from sandbox.telegram.server import TelegramSandbox

__all__ = ["BotApiError", "TelegramSandbox"]
