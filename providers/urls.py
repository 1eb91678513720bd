"""Profile links of VK, X and Facebook -> `ProfileRef`, and back to one canonical https link.

Each `parse_*_url` returns None for a link that is not on its network (the bridge asks each network in
turn), a `ProfileRef` for a link that names a person, and raises `InvalidProfileUrl` for a link that is on
the network (or poses as it) but names no person. Host, scheme and look-alike rules: `providers._urlparse`.

Decisions (the task left them open):

* VK hosts include `m.vk.ru` and the `www.` forms: VK serves its mobile site on both domains since the
  2024 move to vk.ru. `vk.me` (messenger short links) is not accepted.
* VK screen names: `[a-z0-9_.]`, 2-32 characters. New names need 5, but short legacy names such as
  `vk.com/tj` still exist; one-character paths are never names. Not all digits, no leading/trailing/double
  dot. `id<digits>` is an id; `idealist`, `id_card`, `id12abc` are names.
* VK `write<id>` and `im?sel=<id>` (the "write a message" / dialogue pages) name the person by id, so
  they are accepted as that id; a negative id or `c<n>` there is a community/chat and refused. The old
  `vkontakte.ru/profile.php?id=<id>` form is accepted too. Paths deeper than one segment are refused:
  a VK profile never has them.
* X: `x.com/jack/status/20` (any deeper path) names `jack`. `intent/user?user_id=` (also
  `intent/follow`) gives the id, `?screen_name=` the handle.
* Facebook vanity names: `[a-z0-9.]`, 4-50 characters, at least one letter. The task said "min 5", but its
  own example `facebook.com/zuck` has 4 (legacy names are shorter). A path of digits only
  (`facebook.com/4`) is a numeric id. Dots are kept: Facebook ignores them, the provider may too.
* Old hash-bang links (`twitter.com/#!/jack`) are read through their fragment.
* A different site that merely contains the network's name (`vk.com.evil.org`, `evil.org/vk.com/id1`) is
  None: it is not a link of ours. A link *disguised* as ours (userinfo, port, other scheme, homoglyphs,
  punycode, percent-encoding, backslashes, control characters, > 2048 characters) raises, so the CRM user
  learns why it was refused. The exception's `url` is redacted (userinfo and token-like values masked).
* `profile_url` of a ref the parser could never produce raises ValueError (a programming error).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from providers._urlparse import SplitUrl, redact, split_url
from providers.base import ProfileRef
from providers.errors import InvalidProfileUrl

__all__ = [
    "FACEBOOK_HOSTS",
    "VK_HOSTS",
    "X_HOSTS",
    "facebook_profile_url",
    "parse_facebook_url",
    "parse_vk_url",
    "parse_x_url",
    "vk_profile_url",
    "x_profile_url",
]

VK_HOSTS = frozenset(
    {
        "vk.com",
        "www.vk.com",
        "m.vk.com",
        "new.vk.com",
        "vk.ru",
        "www.vk.ru",
        "m.vk.ru",
        "vkontakte.ru",
        "www.vkontakte.ru",
    }
)
X_HOSTS = frozenset(
    {"x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com"}
)
FACEBOOK_HOSTS = frozenset({"facebook.com", "www.facebook.com", "m.facebook.com", "fb.com", "www.fb.com"})

_NUMERIC_ID = re.compile(r"[1-9][0-9]{0,19}")
NOT_A_PERSON = "it does not point to a person's profile"


def _fail(url: str, reason: str, network: str) -> InvalidProfileUrl:
    return InvalidProfileUrl(redact(url), reason, network=network)


def _numeric(value: str | None) -> str | None:
    """`value` as a canonical positive id (leading zeros dropped), or None."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    stripped = value.lstrip("0")
    return stripped if _NUMERIC_ID.fullmatch(stripped) else None


def _names_itself(parse: Callable[[str], ProfileRef | None], url: str, ref: ProfileRef) -> bool:
    """True when `url` built from `ref.value` parses back to `ref` (so the value is a valid name)."""
    try:
        return parse(url) == ref
    except InvalidProfileUrl:
        return False


# ---------------------------------------------------------------------------------------------- VK

_VK_NAME = re.compile(r"(?!\.)(?!.*\.\.)(?!.*\.$)(?![0-9]+$)[a-z0-9_.]{2,32}")
_VK_COMMUNITY = re.compile(r"(?:club|public|event)[0-9]+")
_VK_CONTENT = re.compile(
    r"(?:wall|photo|video|audio|album|topic|note|doc|app|market|clip|story|poll|board|page|product|"
    r"podcast|article|playlist|narrative|away|albums|videos|audios|photos|docs)-?[0-9]+(?:_[0-9]+)*"
)
# fmt: off
_VK_RESERVED = frozenset({
    "feed", "im", "search", "settings", "groups", "friends", "audio", "audios", "video", "videos", "music",
    "photos", "albums", "docs", "apps", "games", "bookmarks", "fave", "market", "services", "support",
    "help", "login", "join", "restore", "about", "blog", "dev", "pages", "page", "wall", "notes", "topic",
    "board", "away", "mail", "edit", "stats", "ads", "pay", "vkpay", "clips", "stories", "story",
    "podcasts", "messages", "mobile", "terms", "privacy", "legal", "jobs", "press", "catalog",
    "communities", "stickers", "gifts", "calls", "verify", "feedback", "menu", "write", "profile", "id",
    "club", "public", "event", "people", "discover", "artist", "shopping", "vkapps_catalog",
})
# fmt: on


def parse_vk_url(url: str) -> ProfileRef | None:
    """What a VK link names: `vk.com/id1` -> ("vk", "id", "1"), `vk.com/Durov` -> screen_name "durov"."""
    split = split_url(url, VK_HOSTS, "vk")
    if split is None:
        return None
    if not split.segments:
        if split.first("sel") or split.first("id"):
            raise _fail(url, "the link has no page name before '?'", "vk")
        raise _fail(url, "it is the VK home page, not a person's profile", "vk")
    head = split.segments[0].lower()
    if head in ("im", "profile.php") and len(split.segments) == 1:
        return _vk_query_id(url, split, "sel" if head == "im" else "id")
    if len(split.segments) > 1:
        raise _fail(url, NOT_A_PERSON + " (a VK profile link has a single name after vk.com/)", "vk")
    return _vk_segment(url, head)


def _vk_query_id(url: str, split: SplitUrl, key: str) -> ProfileRef:
    raw = split.first(key) or ""
    if raw.startswith(("-", "c")):
        raise _fail(url, "it is a community or group chat, not a person", "vk")
    user_id = _numeric(raw)
    if user_id is None:
        raise _fail(url, "it is the VK messages page without a person's id", "vk")
    return ProfileRef("vk", "id", user_id)


def _vk_segment(url: str, head: str) -> ProfileRef:
    for prefix in ("id", "write"):
        if head.startswith(prefix) and head[len(prefix) :].isdigit():
            user_id = _numeric(head[len(prefix) :])
            if user_id is None:
                raise _fail(url, "the id in the link is not a valid VK id", "vk")
            return ProfileRef("vk", "id", user_id)
    if head.startswith("write-") or _VK_COMMUNITY.fullmatch(head):
        raise _fail(url, "it is a community page, not a person", "vk")
    if _VK_CONTENT.fullmatch(head):
        raise _fail(url, "it is a post, photo or other content, not a person's profile", "vk")
    if head in _VK_RESERVED or head.endswith((".php", ".html", ".htm")):
        raise _fail(url, f"'{head}' is a VK service page, not a person's profile", "vk")
    if not _VK_NAME.fullmatch(head):
        raise _fail(url, f"'{head}' is not a valid VK profile name", "vk")
    return ProfileRef("vk", "screen_name", head)


def vk_profile_url(ref: ProfileRef) -> str:
    """`https://vk.com/id<id>` or `https://vk.com/<screen_name>`."""
    if ref.network == "vk" and ref.kind == "id" and _numeric(ref.value) == ref.value:
        return f"https://vk.com/id{ref.value}"
    if ref.kind == "screen_name" and _names_itself(parse_vk_url, f"vk.com/{ref.value}", ref):
        return f"https://vk.com/{ref.value}"
    raise ValueError(f"not a VK profile reference: {ref!r}")


# ----------------------------------------------------------------------------------------------- X

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
        raise _fail(url, "it is the X home page, not an account", "x")
    segments = [segment.lower() for segment in split.segments]
    head = segments[0]
    if head == "i" and len(segments) == 3 and segments[1] == "user":
        user_id = _numeric(segments[2])
        if user_id is None:
            raise _fail(url, "the id in the link is not a valid X account id", "x")
        return ProfileRef("x", "id", user_id)
    if head == "intent" and len(segments) == 2 and segments[1] in ("user", "follow"):
        return _x_intent(url, split)
    if head in _X_RESERVED:
        raise _fail(url, f"'{head}' is an X service page, not an account", "x")
    if not _X_HANDLE.fullmatch(head):
        raise _fail(url, f"'{split.segments[0]}' is not a valid X handle (1-15 letters, digits, _)", "x")
    return ProfileRef("x", "screen_name", head)


def _x_intent(url: str, split: SplitUrl) -> ProfileRef:
    if split.first("user_id") is not None:
        user_id = _numeric(split.first("user_id"))
        if user_id is None:
            raise _fail(url, "the user_id in the link is not a valid X account id", "x")
        return ProfileRef("x", "id", user_id)
    handle = (split.first("screen_name") or "").lower()
    if handle and _X_HANDLE.fullmatch(handle) and handle not in _X_RESERVED:
        return ProfileRef("x", "screen_name", handle)
    raise _fail(url, "the link names no account (user_id or screen_name missing)", "x")


def x_profile_url(ref: ProfileRef) -> str:
    """`https://x.com/<handle>` or `https://x.com/i/user/<id>`."""
    if ref.network == "x" and ref.kind == "id" and _numeric(ref.value) == ref.value:
        return f"https://x.com/i/user/{ref.value}"
    if ref.kind == "screen_name" and _names_itself(parse_x_url, f"x.com/{ref.value}", ref):
        return f"https://x.com/{ref.value}"
    raise ValueError(f"not an X profile reference: {ref!r}")


# ---------------------------------------------------------------------------------------- Facebook

_FB_NAME = re.compile(r"(?!\.)(?!.*\.$)(?=.*[a-z])[a-z0-9.]{4,50}")
# fmt: off
_FB_RESERVED = frozenset({
    "pages", "pg", "groups", "events", "watch", "marketplace", "login", "logout", "share", "sharer",
    "dialog", "plugins", "help", "home", "settings", "messages", "notifications", "friends", "gaming",
    "fundraisers", "photo", "photos", "video", "videos", "reel", "reels", "stories", "hashtag", "search",
    "policies", "privacy", "terms", "legal", "business", "ads", "careers", "about", "developers",
    "bookmarks", "saved", "memories", "live", "recover", "checkpoint", "media", "places", "public",
    "profile", "people", "messenger", "composer", "notes", "mobile", "lite", "find-friends", "games",
    "apps", "jobs", "offers", "permalink", "story", "posts", "l.php", "groups_browse", "latest",
    "app_scoped_user_id", "reg", "signup", "campaign", "badges", "pokes", "onthisday",
})
# fmt: on


def parse_facebook_url(url: str) -> ProfileRef | None:
    """What a Facebook link names: a vanity name, `profile.php?id=`, `people/<name>/<id>` or our PSID form."""
    split = split_url(url, FACEBOOK_HOSTS, "facebook")
    if split is None:
        return None
    if not split.segments:
        raise _fail(url, "it is the Facebook home page, not a person's profile", "facebook")
    segments = [segment.lower() for segment in split.segments]
    head = segments[0]
    if head == "profile.php" and len(segments) == 1:
        user_id = _numeric(split.first("id"))
        if user_id is None:
            raise _fail(url, "the link has no valid id=<number> after profile.php", "facebook")
        return ProfileRef("facebook", "id", user_id)
    if head == "people" and len(segments) == 3:
        user_id = _numeric(segments[2])
        if user_id is not None:
            return ProfileRef("facebook", "id", user_id)
    if head == "app_scoped_user_id" and len(segments) == 2:
        psid = _numeric(segments[1])
        if psid is None:
            raise _fail(url, "the Messenger id in the link is not a number", "facebook")
        return ProfileRef("facebook", "psid", psid)
    if head in _FB_RESERVED or head.endswith((".php", ".html", ".htm")):
        raise _fail(url, f"'{head}' is a Facebook page, group or service page, not a person", "facebook")
    user_id = _numeric(head)
    if user_id is not None:
        return ProfileRef("facebook", "id", user_id)
    if not _FB_NAME.fullmatch(head):
        raise _fail(url, f"'{split.segments[0]}' is not a valid Facebook profile name", "facebook")
    return ProfileRef("facebook", "screen_name", head)


def facebook_profile_url(ref: ProfileRef) -> str:
    """`https://www.facebook.com/<name>`, `.../profile.php?id=<id>` or `.../app_scoped_user_id/<psid>/`."""
    if ref.network == "facebook" and _numeric(ref.value) == ref.value:
        if ref.kind == "id":
            return f"https://www.facebook.com/profile.php?id={ref.value}"
        if ref.kind == "psid":
            return f"https://www.facebook.com/app_scoped_user_id/{ref.value}/"
    if ref.kind == "screen_name" and _names_itself(parse_facebook_url, f"facebook.com/{ref.value}", ref):
        return f"https://www.facebook.com/{ref.value}"
    raise ValueError(f"not a Facebook profile reference: {ref!r}")
