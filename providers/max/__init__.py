"""MAX Bot API provider (see `providers.max.provider`)."""

from __future__ import annotations

from providers.max.provider import MaxProvider

__all__ = ["MaxProvider"]
