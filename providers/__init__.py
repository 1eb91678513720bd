"""Social network providers behind one contract (`providers.base.Provider`).

The registry is explicit: adding a network means adding a module and a line here.
"""

from __future__ import annotations

from providers.base import (
    AccountId,
    Birthday,
    BotEvent,
    Capabilities,
    Direction,
    EventKind,
    LongPolling,
    NetworkMessage,
    PollResult,
    Profile,
    ProfileRef,
    Provider,
    SentMessage,
)
from providers.errors import (
    InvalidProfileUrl,
    NotAllowedReason,
    ProviderAuthError,
    ProviderCaptchaRequired,
    ProviderConflict,
    ProviderDeliveryUnknown,
    ProviderError,
    ProviderKeyReused,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.facebook import FacebookProvider
from providers.max import MaxProvider
from providers.telegram import TelegramProvider
from providers.vk import VkProvider
from providers.x import XProvider

__all__ = [
    "PROVIDERS",
    "AccountId",
    "Birthday",
    "BotEvent",
    "Capabilities",
    "Direction",
    "EventKind",
    "FacebookProvider",
    "InvalidProfileUrl",
    "LongPolling",
    "MaxProvider",
    "NetworkMessage",
    "NotAllowedReason",
    "PollResult",
    "Profile",
    "ProfileRef",
    "Provider",
    "ProviderAuthError",
    "ProviderCaptchaRequired",
    "ProviderConflict",
    "ProviderDeliveryUnknown",
    "ProviderError",
    "ProviderKeyReused",
    "ProviderNotAllowed",
    "ProviderNotFound",
    "ProviderRateLimited",
    "ProviderUnavailable",
    "SentMessage",
    "TelegramProvider",
    "VkProvider",
    "XProvider",
]


# The explicit registry: adding a network means a module and a line here. Being listed enables nothing:
# the bridge builds only the networks its configuration names (Telegram and MAX have no bridge side yet).
PROVIDERS: dict[str, type] = {"vk": VkProvider, "x": XProvider, "facebook": FacebookProvider,
                              "telegram": TelegramProvider, "max": MaxProvider}
