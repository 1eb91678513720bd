"""Social network providers behind one contract (`providers.base.Provider`).

The registry is explicit: adding a network means adding a module and a line here.
"""

from __future__ import annotations

from providers.base import (
    AccountId,
    Birthday,
    Capabilities,
    Direction,
    NetworkMessage,
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
    ProviderError,
    ProviderKeyReused,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.facebook import FacebookProvider
from providers.vk import VkProvider
from providers.x import XProvider

__all__ = [
    "PROVIDERS",
    "AccountId",
    "Birthday",
    "Capabilities",
    "Direction",
    "FacebookProvider",
    "InvalidProfileUrl",
    "NetworkMessage",
    "NotAllowedReason",
    "Profile",
    "ProfileRef",
    "Provider",
    "ProviderAuthError",
    "ProviderCaptchaRequired",
    "ProviderError",
    "ProviderKeyReused",
    "ProviderNotAllowed",
    "ProviderNotFound",
    "ProviderRateLimited",
    "ProviderUnavailable",
    "SentMessage",
    "VkProvider",
    "XProvider",
]


# The explicit registry: adding a network means a module and a line here.
PROVIDERS: dict[str, type] = {"vk": VkProvider, "x": XProvider, "facebook": FacebookProvider}
