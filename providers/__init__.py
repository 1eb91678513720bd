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
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)

__all__ = [
    "AccountId",
    "Birthday",
    "Capabilities",
    "Direction",
    "InvalidProfileUrl",
    "NetworkMessage",
    "NotAllowedReason",
    "Profile",
    "ProfileRef",
    "Provider",
    "ProviderAuthError",
    "ProviderCaptchaRequired",
    "ProviderError",
    "ProviderNotAllowed",
    "ProviderNotFound",
    "ProviderRateLimited",
    "ProviderUnavailable",
    "SentMessage",
]

# PROVIDERS = {"vk": VkProvider, "x": XProvider, "facebook": FacebookProvider} is added when the
# network modules land (see providers/vk.py, x.py, facebook.py).
