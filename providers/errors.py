"""Errors raised by every provider; a provider raises these and never returns a failure value.

    ProviderError
    ├── ProviderAuthError         token missing, invalid, expired or revoked
    ├── ProviderRateLimited       the network (or our local budget) says "wait retry_after seconds"
    ├── ProviderNotAllowed        the network forbids this action for this person (see NotAllowedReason)
    ├── ProviderNotFound          deleted, banned or unknown account
    ├── ProviderCaptchaRequired   VK wants a captcha solved by a human
    ├── ProviderUnavailable       5xx, timeouts, dropped connections: worth retrying later
    ├── ProviderKeyReused         the send's idempotency key names a message delivered to someone else
    ├── ProviderDeliveryUnknown   a send may or may not have arrived and the network cannot tell: no resend
    ├── ProviderConflict          another client takes this token's updates (a webhook, a second poller)
    └── InvalidProfileUrl         a URL of this network that does not name a person

Messages are written for a CRM user, not for a developer: they say what happened and what to do.
No message ever contains a token.
"""

from __future__ import annotations

from enum import StrEnum


class ProviderError(Exception):
    """Base of every provider error.

    Attributes:
        network: the provider name ("vk", "x", "facebook") or "" when not known.
        code: the network's own error code (VK's integer, X's problem type...) or None.
        transient: True when retrying later may succeed.
    """

    transient: bool = False

    def __init__(self, message: str, *, network: str = "", code: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.network = network
        self.code = code

    def __str__(self) -> str:
        return self.message


class ProviderAuthError(ProviderError):
    """The token is missing, malformed, expired or revoked (VK 5, X 401, Facebook 190)."""


class ProviderRateLimited(ProviderError):
    """The network asks us to slow down; `retry_after` is in seconds (None when it did not say)."""

    transient = True

    def __init__(
        self, message: str, *, retry_after: float | None = None, network: str = "", code: object = None
    ) -> None:
        super().__init__(message, network=network, code=code)
        self.retry_after = retry_after


class NotAllowedReason(StrEnum):
    """Why a network refused an action for a given person; permanent until the person acts."""

    NOT_OPTED_IN = "NOT_OPTED_IN"  # VK 901: the person has not allowed messages from the community
    PRIVACY = "PRIVACY"  # VK 902 / X 403: privacy settings forbid it
    BLACKLISTED = "BLACKLISTED"  # VK 900: the person blocked us
    WINDOW_CLOSED = "WINDOW_CLOSED"  # Facebook: the 24 h reply window has passed
    NO_CONVERSATION = "NO_CONVERSATION"  # Facebook / X: the person never wrote to us
    UNSUPPORTED_BY_NETWORK = "UNSUPPORTED_BY_NETWORK"  # the network offers no way to do this at all
    PERMISSION_DENIED = "PERMISSION_DENIED"  # VK 15/7: the token lacks the right (e.g. `messages`)


class ProviderNotAllowed(ProviderError):
    """The network refuses this action for this person; retrying will not help."""

    def __init__(
        self, message: str, *, reason: NotAllowedReason, network: str = "", code: object = None
    ) -> None:
        super().__init__(message, network=network, code=code)
        self.reason = reason


class ProviderNotFound(ProviderError):
    """The account does not exist, was deleted or banned (VK 18, 113; X 404)."""


class ProviderCaptchaRequired(ProviderError):
    """VK answered error 14: a human must solve a captcha before the token can continue."""

    transient = True

    def __init__(
        self, message: str, *, captcha_sid: str = "", captcha_img: str = "", network: str = "vk"
    ) -> None:
        super().__init__(message, network=network, code=14)
        self.captcha_sid = captcha_sid
        self.captcha_img = captcha_img


class ProviderUnavailable(ProviderError):
    """The network did not answer properly (5xx, timeout, dropped connection, garbage body)."""

    transient = True


class ProviderKeyReused(ProviderError):
    """The network answered a send with a message it had delivered earlier under the same idempotency key
    to another person (VK keeps one message per `random_id` and sender): nothing was delivered for this
    send, and a new key is needed. `message_id` is the earlier message the network named."""

    def __init__(self, message: str, *, message_id: str, network: str = "") -> None:
        super().__init__(message, network=network)
        self.message_id = message_id


class InvalidProfileUrl(ProviderError, ValueError):
    """A URL that belongs to this network but does not name a person; `reason` says why."""

    def __init__(self, url: str, reason: str, *, network: str = "") -> None:
        shown = url if len(url) <= 120 else url[:117] + "..."
        super().__init__(f"{shown!r} is not a usable profile link: {reason}", network=network)
        self.url = url
        self.reason = reason


class ProviderDeliveryUnknown(ProviderError):
    """A send's outcome is unknown (the request was written, no answer came) and the network can neither
    deduplicate a repeat nor show the bot its dialog (Telegram). Not transient on purpose: repeating
    could deliver twice, so the send is shown as "delivery unknown" and left to a person.

    `parts_delivered` counts the parts of a split text that are known to have arrived before it."""

    def __init__(self, message: str, *, network: str = "", parts_delivered: int = 0) -> None:
        super().__init__(message, network=network, code="delivery-unknown")
        self.parts_delivered = parts_delivered


class ProviderConflict(ProviderError):
    """Someone else takes this token's updates: a webhook is set (`webhook=True`), or another poller
    with the same token is running. Retrying would only fight it: an administrator decides."""

    def __init__(self, message: str, *, webhook: bool, network: str = "", code: object = None) -> None:
        super().__init__(message, network=network, code=code)
        self.webhook = webhook
