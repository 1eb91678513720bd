"""`check`'s explanation of a network that refused the token check: the real cause, in one line.

VK answers a wrong `group_id` and a token without the messages right with the same error 15, and an
`api_url` that leads elsewhere looks like an outage; each gets its own words here, naming the key to fix.
"""

from __future__ import annotations

from bridge.config import Config
from providers.base import Provider
from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderError,
    ProviderNotAllowed,
    ProviderUnavailable,
)


def network_problem(config: Config, network: str, provider: Provider, exc: ProviderError) -> str:
    section = getattr(config.networks, network)
    api_url = getattr(section, "api_url", "")
    if isinstance(exc, ProviderAuthError):
        return f"{exc} (networks.{network} in {config.source})"
    denied = isinstance(exc, ProviderNotAllowed) and exc.reason is NotAllowedReason.PERMISSION_DENIED
    if network == "vk" and denied:
        owner = _vk_community(provider)
        if owner is not None and owner[0] != section.group_id:
            return (
                f"networks.vk.group_id is {section.group_id}, but this token belongs to the community "
                f"{owner[0]} ({owner[1]}): set group_id: {owner[0]}"
            )
        return f"{exc} (networks.vk.token)"
    if isinstance(exc, ProviderUnavailable):
        code = exc.code if isinstance(exc.code, int) else None
        if (code is not None and 400 <= code < 500) or "not JSON" in str(exc) or "without a" in str(exc):
            return (
                f"networks.{network}.api_url ({api_url}) does not lead to the {network} API "
                f"({exc}); fix it, or remove the key to use the default"
            )
        return f"cannot reach {network} at {api_url}: {exc}"
    return f"{type(exc).__name__}: {exc}"


def _vk_community(provider: Provider) -> tuple[int, str] | None:
    finder = getattr(provider, "token_community", None)
    if finder is None:
        return None
    try:
        found: tuple[int, str] | None = finder()
    except ProviderError:
        return None
    return found
