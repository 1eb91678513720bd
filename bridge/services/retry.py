"""When a send that failed for a reason that may pass (the network down, a rate limit, a rejected token)
is tried again: the policy `Sender` applies to each target (`bridge.services.sending`)."""

from __future__ import annotations

import datetime as dt

from bridge.store import OutboxTarget, TargetState
from providers.base import Provider

# Failures that say the request never reached the network (or was refused whole): a resend after them cannot
# deliver twice, so a network that cannot look (Telegram) may repeat the send even in a new process.
SURELY_UNSENT = frozenset({"ProviderUnavailable", "ProviderRateLimited", "ProviderAuthError"})


def resend_is_safe(provider: Provider, target: OutboxTarget) -> bool:
    """May `target` be sent again without first asking whether its last attempt arrived? Only when that
    attempt ended in a failure that proves nothing went out and the network cannot look anyway (a provider
    that can look is asked: it costs one request and proves more)."""
    return (
        not provider.capabilities.idempotent_sends
        and target.state is TargetState.PENDING
        and target.error_code in SURELY_UNSENT
    )


def backoff_delay(
    attempts: int, *, base: dt.timedelta = dt.timedelta(seconds=30), cap: dt.timedelta = dt.timedelta(hours=1)
) -> dt.timedelta:
    """Exponential backoff after `attempts` failed attempts: base, 2*base, 4*base, ... capped at `cap`."""
    if attempts < 1:
        return dt.timedelta(0)
    # Bound the exponent so huge attempt counts cannot overflow timedelta before the cap applies.
    factor: int = 2 ** min(attempts - 1, 30)
    return min(cap, base * factor)
