"""MAX: a bot's dialogs through the MAX Bot API, read by long polling (`GET /updates`).

    provider.py   `MaxProvider`, the network behind `providers.base.Provider` and `LongPolling`
    urls.py       MAX profile links <-> `ProfileRef`
    transport.py  HTTP: the token in the `Authorization` header, JSON, the CA bundle
    errors.py     MAX's error answers -> `providers.errors`
    messages.py   updates -> `NetworkMessage` and `BotEvent`, and which dialog is whose
    profiles.py   `User` objects -> `Profile`
    rate.py       MAX's rate budget and its backoff after a 429

What it shares with Telegram (transport base, offsets, text splitting) is in `providers/botapi.py`.
"""

from __future__ import annotations

from providers.max.provider import MaxProvider

__all__ = ["MaxProvider"]
