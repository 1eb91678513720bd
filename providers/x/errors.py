"""X's error answers -> `providers.errors`, with messages a CRM user can act on.

X answers errors as RFC-7807 problems (`type`, `title`, `detail`) and still some v1.1-style
(`{"errors": [{"code", "message"}]}`); both are read as one problem here. A 429 is the rate budget's
business (`providers.x.rate`): the transport notes the window before it raises.
"""

from __future__ import annotations

from typing import Any

import requests

from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)

NETWORK = "x"


def problem_of(response: requests.Response) -> dict[str, Any]:
    """The RFC-7807 problem (type, title, detail, ...) of an error answer; {} when there is none.

    X also still answers some errors v1.1-style (`{"errors": [{"code", "message"}]}`); the first one
    is folded into the same keys.
    """
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    if "title" in body or "detail" in body or "type" in body:
        return body
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return {
            "type": first.get("type", ""),
            "title": first.get("title", ""),
            "detail": first.get("detail") or first.get("message", ""),
            "code": first.get("code"),
        }
    return {}


def dm_refusal_reason(problem: dict[str, Any]) -> NotAllowedReason:
    """Why X refused a DM (403), from the problem's wording.

    "not following you" / "does not accept" means the person only takes DMs from people they follow:
    they have not opted in to ours. "cannot send messages to this user" is a block or a privacy
    setting. A client-forbidden problem or a bare "Forbidden" is about our app (tier, missing dm.*
    scope), not about the person.
    """
    text = " ".join(str(problem.get(k, "")) for k in ("type", "title", "detail", "reason")).lower()
    if "client-forbidden" in text or "client-not-enrolled" in text or "unsupported-authentication" in text:
        return NotAllowedReason.PERMISSION_DENIED
    if "not following" in text or "not accept" in text or "receive" in text:
        return NotAllowedReason.NOT_OPTED_IN
    if "send messages to this user" in text or "blocked" in text or "not-authorized-for-resource" in text:
        return NotAllowedReason.PRIVACY
    return NotAllowedReason.PERMISSION_DENIED


def rate_limited(endpoint: str, retry_after: float) -> ProviderRateLimited:
    """A 429: X's window for `endpoint` is spent for `retry_after` seconds."""
    return ProviderRateLimited(
        f"X's rate limit was reached for {endpoint}; the bridge will try again in {int(retry_after) + 1} s.",
        retry_after=retry_after,
        network=NETWORK,
        code=429,
    )


def error_for(response: requests.Response, endpoint: str, *, dm_send: bool) -> ProviderError:
    """The provider error for an answer of 400 or more other than 429."""
    status = response.status_code
    problem = problem_of(response)
    code = problem.get("type") or status
    detail = str(problem.get("detail") or problem.get("title") or "").strip()
    if status == 401:
        return ProviderAuthError(
            "X rejected the app's credentials (401). Reconnect the X account in the "
            "bridge settings: the access token may have been revoked.",
            network=NETWORK,
            code=code,
        )
    if status == 403:
        reason = dm_refusal_reason(problem) if dm_send else NotAllowedReason.PERMISSION_DENIED
        message = {
            NotAllowedReason.NOT_OPTED_IN: "This person does not accept direct messages from our X "
            "account (they only take DMs from people they follow).",
            NotAllowedReason.PRIVACY: "X does not let our account message this person (blocked or "
            "privacy settings).",
        }.get(
            reason,
            "X refused the request: the app's access tier or permissions (dm.read/dm.write) do not allow it.",
        )
        return ProviderNotAllowed(
            message + (f" X said: {detail}" if detail else ""), reason=reason, network=NETWORK, code=code
        )
    if status == 404:
        return ProviderNotFound(
            "This X account does not exist or was suspended." + (f" X said: {detail}" if detail else ""),
            network=NETWORK,
            code=code,
        )
    if status >= 500:
        return ProviderUnavailable(
            f"X had an internal error ({status}); the bridge will retry.", network=NETWORK, code=status
        )
    return ProviderError(
        f"X refused {endpoint} ({status})" + (f": {detail}" if detail else "."), network=NETWORK, code=code
    )
