"""X (Twitter) profile links -> `ProfileRef`, and back to one canonical https link.

Host, scheme and look-alike rules, shared by every network: `providers._urlparse`. X's own decisions:
`x.com/jack/status/20` (any deeper path) names `jack`; `intent/user?user_id=` (also `intent/follow`)
gives the id, `?screen_name=` the handle.
"""

from __future__ import annotations

import re

from providers._urlparse import SplitUrl, names_itself, numeric_id, refused, split_url
from providers.base import ProfileRef

X_HOSTS = frozenset(
    {"x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com"}
)

_X_HANDLE = re.compile(r"[a-z0-9_]{1,15}")
# fmt: off
# Only routes X itself serves at the top level: X refuses these as usernames. Words that are also real
# accounts (@verified, @premium, @jobs, @help...) are deliberately absent, or their links would be refused.
_X_RESERVED = frozenset({
    "home", "i", "explore", "notifications", "messages", "search", "settings", "compose", "intent",
    "share", "hashtag", "login", "logout", "signup", "tos", "privacy", "account", "oauth", "who_to_follow",
    "sessions", "user_spam_reports", "download", "personalization", "bookmarks",
})
# fmt: on


def parse_x_url(url: str) -> ProfileRef | None:
    """What an X link names: `x.com/Jack` -> ("x", "screen_name", "jack"), `x.com/i/user/12` -> id "12"."""
    split = split_url(url, X_HOSTS, "x")
    if split is None:
        return None
    if not split.segments:
        raise refused(url, "it is the X home page, not an account", "x")
    segments = [segment.lower() for segment in split.segments]
    head = segments[0]
    if head == "i" and len(segments) == 3 and segments[1] == "user":
        user_id = numeric_id(segments[2])
        if user_id is None:
            raise refused(url, "the id in the link is not a valid X account id", "x")
        return ProfileRef("x", "id", user_id)
    if head == "intent" and len(segments) == 2 and segments[1] in ("user", "follow"):
        return _x_intent(url, split)
    if head in _X_RESERVED:
        raise refused(url, f"'{head}' is an X service page, not an account", "x")
    if not _X_HANDLE.fullmatch(head):
        raise refused(url, f"'{split.segments[0]}' is not a valid X handle (1-15 letters, digits, _)", "x")
    return ProfileRef("x", "screen_name", head)


def _x_intent(url: str, split: SplitUrl) -> ProfileRef:
    if split.first("user_id") is not None:
        user_id = numeric_id(split.first("user_id"))
        if user_id is None:
            raise refused(url, "the user_id in the link is not a valid X account id", "x")
        return ProfileRef("x", "id", user_id)
    handle = (split.first("screen_name") or "").lower()
    if handle and _X_HANDLE.fullmatch(handle) and handle not in _X_RESERVED:
        return ProfileRef("x", "screen_name", handle)
    raise refused(url, "the link names no account (user_id or screen_name missing)", "x")


def x_profile_url(ref: ProfileRef) -> str:
    """`https://x.com/<handle>` or `https://x.com/i/user/<id>`."""
    if ref.network == "x" and ref.kind == "id" and numeric_id(ref.value) == ref.value:
        return f"https://x.com/i/user/{ref.value}"
    if ref.kind == "screen_name" and names_itself(parse_x_url, f"x.com/{ref.value}", ref):
        return f"https://x.com/{ref.value}"
    raise ValueError(f"not an X profile reference: {ref!r}")
