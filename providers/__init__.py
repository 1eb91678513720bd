"""Social network providers behind one contract (`providers.base.Provider`).

Every network is a package of the same shape (`providers/vk/`, `providers/x/`, `providers/facebook/`):
`provider.py` (the Provider class), `urls.py` (its profile links), `transport.py` (HTTP), `errors.py`
(its error answers -> `providers.errors`), `messages.py`, `profiles.py` where needed, and `rate.py` (its
rate budget). Shared: `base.py` (the contract and value types), `errors.py`, `ratelimit.py` (the
limiter every network's budget is built on) and `_urlparse.py` (strict link splitting).

The registry is explicit: adding a network means adding a package and a line in `PROVIDERS`.
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
    ProviderClass,
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
    "ProviderClass",
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


# The explicit registry: network name -> its Provider class (built from settings by `from_settings`).
PROVIDERS: dict[str, ProviderClass] = {"vk": VkProvider, "x": XProvider, "facebook": FacebookProvider}
