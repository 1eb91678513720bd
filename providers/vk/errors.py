"""VK error codes -> `providers.errors`, with messages a CRM user can act on.

Classification follows VK's error codes (VKCOM/vk-api-schema errors.json, copied to
contracts/vk-api-schema/errors.json). Messages never quote VK's `request_params` (they echo what we sent)
and never contain the token.
"""

from __future__ import annotations

from typing import Any

from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderCaptchaRequired,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)

NETWORK = "vk"

TOO_MANY_RPS = 6
SERVER_ERROR = 10
RETRIED_INSIDE_CALL = frozenset({TOO_MANY_RPS, SERVER_ERROR})
FLOOD_RETRY_AFTER = 600.0  # 9: "back off minutes; don't hammer"
QUOTA_RETRY_AFTER = 3600.0  # 29: a per-method daily quota, so wait long
RPS_RETRY_AFTER = 1.0  # 6: VK counts requests per second

_NOT_ALLOWED: dict[int, tuple[NotAllowedReason, str]] = {
    7: (
        NotAllowedReason.PERMISSION_DENIED,
        "VK denies this action to the bridge's access key. Check the key's rights in the community settings.",
    ),
    15: (
        NotAllowedReason.PERMISSION_DENIED,
        "VK denied access: the access key lacks the right for this (e.g. 'messages'); user keys of new apps "
        "never get it. Use a community access key with the 'messages' right.",
    ),
    30: (NotAllowedReason.PRIVACY, "This VK profile is private; VK does not share its details."),
    900: (
        NotAllowedReason.BLACKLISTED,
        "This person has blocked the community on VK; the message was not sent.",
    ),
    901: (
        NotAllowedReason.NOT_OPTED_IN,
        "VK does not allow this community to message this person until they write to it or allow messages "
        "from it.",
    ),
    902: (
        NotAllowedReason.PRIVACY,
        "This person's VK privacy settings do not allow messages from the community.",
    ),
}

_NOT_FOUND: dict[int, str] = {
    18: "This VK page was deleted or banned.",
    113: "VK does not know this person (invalid user id); check the VK profile link.",
    936: "VK cannot find this contact.",
}


class VkCallError(Exception):
    """One VK error as VK reported it (internal: mapped to a ProviderError before leaving)."""

    def __init__(self, code: int, message: str, method: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(f"VK error {code} in {method}")
        self.code = code
        self.vk_message = message
        self.method = method
        self.extra = extra or {}


def to_provider_error(err: VkCallError) -> ProviderError:
    """The `providers.errors` exception for a VK error."""
    code = err.code
    suffix = f" (VK error {code})"
    if code in (5, 17):
        what = (
            "VK rejected the bridge's access key: it is invalid, expired or was revoked. Create a new "
            "access key in VK and update the bridge settings."
            if code == 5
            else "VK wants the account owner to confirm their login (validation required); re-authorise the "
            "bridge in VK."
        )
        return ProviderAuthError(what + suffix, network=NETWORK, code=code)
    if code == TOO_MANY_RPS:
        return ProviderRateLimited(
            "VK is receiving too many requests per second; retrying shortly." + suffix,
            retry_after=RPS_RETRY_AFTER,
            network=NETWORK,
            code=code,
        )
    if code == 9:
        return ProviderRateLimited(
            "VK flood control: too many similar actions. The bridge pauses this for 10 minutes." + suffix,
            retry_after=FLOOD_RETRY_AFTER,
            network=NETWORK,
            code=code,
        )
    if code == 29:
        return ProviderRateLimited(
            "VK's limit for this action is used up for now; the bridge will try again in an hour." + suffix,
            retry_after=QUOTA_RETRY_AFTER,
            network=NETWORK,
            code=code,
        )
    if code in (1, SERVER_ERROR):
        return ProviderUnavailable(
            "VK had an internal problem; the bridge will try again later." + suffix,
            network=NETWORK,
            code=code,
        )
    if code == 14:
        return ProviderCaptchaRequired(
            "VK asks for a captcha before it accepts more actions from this key; a person must solve it."
            + suffix,
            captcha_sid=str(err.extra.get("captcha_sid", "")),
            captcha_img=str(err.extra.get("captcha_img", "")),
            network=NETWORK,
        )
    if code in _NOT_ALLOWED:
        reason, text = _NOT_ALLOWED[code]
        return ProviderNotAllowed(text + suffix, reason=reason, network=NETWORK, code=code)
    if code in _NOT_FOUND:
        return ProviderNotFound(_NOT_FOUND[code] + suffix, network=NETWORK, code=code)
    if code == 100:
        return ProviderError(
            f"VK refused a parameter of {err.method} as missing or invalid; this is a bridge bug, please "
            "report it." + suffix,
            network=NETWORK,
            code=code,
        )
    if code == 914:
        return ProviderError("The message is too long for VK." + suffix, network=NETWORK, code=code)
    return ProviderError(f"VK refused {err.method}." + suffix, network=NETWORK, code=code)
