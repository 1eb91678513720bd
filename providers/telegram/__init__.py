"""Telegram Bot API provider (see `providers.telegram.provider`)."""

from __future__ import annotations

from providers.telegram.provider import TelegramProvider

__all__ = ["TelegramProvider"]
