"""Telegram: a bot's private chats through the Bot API, read by long polling (`getUpdates`).

    provider.py   `TelegramProvider`, the network behind `providers.base.Provider` and `LongPolling`
    urls.py       Telegram profile links <-> `ProfileRef`
    transport.py  HTTP: one JSON POST per method, the token kept out of errors and logs
    errors.py     Telegram's error envelope -> `providers.errors`
    messages.py   updates -> `NetworkMessage` and `BotEvent`
    profiles.py   `User` and `ChatFullInfo` objects -> `Profile`
    rate.py       Telegram's rate budget and the bridge's pace under it

What it shares with MAX (transport base, offsets, text length) is in `providers/botapi.py`.
"""

from __future__ import annotations

from providers.telegram.provider import TelegramProvider

__all__ = ["TelegramProvider"]
