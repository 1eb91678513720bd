"""HMAC signing of webhook requests, shared by the bridge, its CLI, the demo and the tests.

The vtiger plugin (`vtiger_plugin/SocialBridge.php`) computes the same thing in PHP:

    X-Bridge-Timestamp: <unix seconds>
    X-Bridge-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body bytes>")>

Binding the timestamp into the MAC makes a captured request useless after `MAX_SKEW` seconds; within
that window a replay carries the same event id and is answered as a duplicate, never processed twice.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass

TIMESTAMP_HEADER = "X-Bridge-Timestamp"
SIGNATURE_HEADER = "X-Bridge-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_SKEW = 300  # seconds a timestamp may lie in the past or the future

_HEX_DIGEST_LEN = 64


@dataclass(frozen=True, slots=True)
class AuthFailure:
    """Why a request was refused: a stable machine code and a message that is safe to send back."""

    code: str
    message: str


def _as_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def signature(secret: str | bytes, body: bytes, timestamp: int | str) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"`."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(_as_bytes(secret), message, hashlib.sha256).hexdigest()


def sign(secret: str | bytes, body: bytes, timestamp: int | float) -> dict[str, str]:
    """The two headers that authenticate `body` sent at `timestamp` (unix seconds, truncated)."""
    ts = int(timestamp)
    return {
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: SIGNATURE_PREFIX + signature(secret, body, ts),
    }


def verify(
    secret: str | bytes,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    now: float,
    max_skew: int = MAX_SKEW,
) -> AuthFailure | None:
    """None when the headers authenticate `body` at time `now`, else the reason (never echoing inputs)."""
    if not timestamp_header or not signature_header:
        missing = TIMESTAMP_HEADER if not timestamp_header else SIGNATURE_HEADER
        return AuthFailure("missing_signature", f"header {missing} is required")
    ts_text = timestamp_header.strip()
    # Only plain decimal digits: int() would also take "+5", " 5" or "٥" (non-ASCII digits), which the
    # PHP side never sends and which would make the signed string ambiguous.
    if not (ts_text.isascii() and ts_text.isdigit()) or len(ts_text) > 12:
        return AuthFailure("bad_timestamp", f"header {TIMESTAMP_HEADER} must be unix seconds")
    ts = int(ts_text)
    if not math.isfinite(now) or abs(now - ts) > max_skew:
        return AuthFailure(
            "stale_timestamp", f"header {TIMESTAMP_HEADER} is more than {max_skew} s from the server clock"
        )
    provided = signature_header.strip()
    if not provided.startswith(SIGNATURE_PREFIX):
        return AuthFailure("bad_signature", f"header {SIGNATURE_HEADER} must start with {SIGNATURE_PREFIX}")
    digest = provided[len(SIGNATURE_PREFIX) :].lower()
    expected = signature(secret, body, ts_text)
    # compare_digest on ASCII str needs equal-length inputs to stay constant-time; pad instead of branching.
    if len(digest) != _HEX_DIGEST_LEN or not digest.isascii():
        digest = "0" * _HEX_DIGEST_LEN
        hmac.compare_digest(digest, expected)
        return AuthFailure("bad_signature", "signature does not match")
    if not hmac.compare_digest(digest, expected):
        return AuthFailure("bad_signature", "signature does not match")
    return None
