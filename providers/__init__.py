"""Social network providers behind one contract (`providers.base.Provider`).

Every network is a package of the same shape (`providers/vk/`, `providers/x/`, `providers/facebook/`,
`providers/telegram/`, `providers/max/`): `provider.py` (the Provider class), `urls.py` (its profile
links), `transport.py` (HTTP), `errors.py` (its error answers -> `providers.errors`), `messages.py`,
`profiles.py`, and `rate.py` (its rate budget). Shared: `base.py` (the contract and value types, with
`LongPolling` for the bots), `errors.py`, `ratelimit.py` (the limiter every network's budget is built on),
`_urlparse.py` (strict link splitting) and `botapi.py` (what the Telegram and MAX bots share).

The registry is explicit: adding a network means adding a package and a line in `PROVIDERS`.
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
    ProviderClass,
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
    "ProviderClass",
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


# The explicit registry: network name -> its Provider class (built from settings by `from_settings`).
# Being listed enables nothing: the bridge builds only the networks its configuration enables.
PROVIDERS: dict[str, ProviderClass] = {
    "vk": VkProvider,
    "x": XProvider,
    "facebook": FacebookProvider,
    "telegram": TelegramProvider,
    "max": MaxProvider,
}
