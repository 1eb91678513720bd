"""Graph API errors -> `providers.errors`, with messages a CRM user can act on.

Codes from developers.facebook.com/docs/graph-api/guides/error-handling and
/docs/messenger-platform/error-codes. Messages never contain the Page token (the transport masks it).
"""

from __future__ import annotations

import datetime as dt

from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)

NETWORK = "facebook"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80006})
AUTH_CODES = frozenset({102, 104, 190})
TRANSIENT_CODES = frozenset({1, 2})
PERMISSION_CODES = frozenset({10, 200, 230, 10903, 10904})
WINDOW_SUBCODES = frozenset({2018278, 2018065})  # "sent outside of allowed window" (current / older)
UNKNOWN_PSID_SUBCODES = frozenset({2018001, 33})  # "No matching user found" / object does not exist


def window_closed(last: dt.datetime | None, *, human_agent: bool) -> ProviderNotAllowed:
    when = f" (the client last wrote {last:%Y-%m-%d %H:%M} UTC)" if last else ""
    limit = "7 days (HUMAN_AGENT tag)" if human_agent else "24 hours"
    return ProviderNotAllowed(
        f"Facebook lets a Page reply only within {limit} of the client's last message{when}; "
        "the client must write to the Page again",
        reason=NotAllowedReason.WINDOW_CLOSED,
        network=NETWORK,
        code=10,
    )


def error_for(
    code: object, sub: object, text: str, *, status: int, retry_after: float | None, human_agent: bool
) -> ProviderError:
    """The provider error for a Graph error envelope (`text`: its message, the token masked)."""
    if code in AUTH_CODES:
        return ProviderAuthError(
            f"Facebook refused the Page token ({text}); reconnect the Page", network=NETWORK, code=code
        )
    if code in RATE_LIMIT_CODES:
        return ProviderRateLimited(
            f"Facebook asks to slow down ({text})", retry_after=retry_after, network=NETWORK, code=code
        )
    if code == 10 and sub in WINDOW_SUBCODES:
        return window_closed(None, human_agent=human_agent)
    if code == 551:
        return ProviderNotAllowed(
            "This person isn't available on Messenger right now (they may have blocked the Page); "
            "they must write to the Page again",
            code=code,
            reason=NotAllowedReason.NO_CONVERSATION,
            network=NETWORK,
        )
    if code == 100 and sub in UNKNOWN_PSID_SUBCODES:
        return ProviderNotFound(
            f"Facebook does not know this person for the Page ({text})", network=NETWORK, code=code
        )
    if code in PERMISSION_CODES or (isinstance(code, int) and 200 <= code < 300):
        return ProviderNotAllowed(
            f"The Page token lacks a permission ({text})",
            network=NETWORK,
            code=code,
            reason=NotAllowedReason.PERMISSION_DENIED,
        )
    if code in TRANSIENT_CODES or status >= 500:
        return ProviderUnavailable(f"Facebook had a temporary problem ({text})", network=NETWORK, code=code)
    return ProviderError(f"Facebook refused the request ({text})", network=NETWORK, code=code)
