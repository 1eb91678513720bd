"""VK profile links -> `ProfileRef`, and back to one canonical https link.

Host, scheme and look-alike rules, shared by every network: `providers._urlparse`. VK's own decisions:

* Hosts include `m.vk.ru` and the `www.` forms: VK serves its mobile site on both domains since the
  2024 move to vk.ru. `vk.me` (messenger short links) is not accepted.
* Screen names: `[a-z0-9_.]`, 2-32 characters. New names need 5, but short legacy names such as
  `vk.com/tj` still exist; one-character paths are never names. Not all digits, no leading/trailing/double
  dot. `id<digits>` is an id; `idealist`, `id_card`, `id12abc` are names.
* `write<id>` and `im?sel=<id>` (the "write a message" / dialogue pages) name the person by id, so
  they are accepted as that id; a negative id or `c<n>` there is a community/chat and refused. The old
  `vkontakte.ru/profile.php?id=<id>` form is accepted too. Paths deeper than one segment are refused:
  a VK profile never has them.
"""

from __future__ import annotations

import re

from providers._urlparse import NOT_A_PERSON, SplitUrl, names_itself, numeric_id, refused, split_url
from providers.base import ProfileRef

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
            raise refused(url, "the link has no page name before '?'", "vk")
        raise refused(url, "it is the VK home page, not a person's profile", "vk")
    head = split.segments[0].lower()
    if head in ("im", "profile.php") and len(split.segments) == 1:
        return _vk_query_id(url, split, "sel" if head == "im" else "id")
    if len(split.segments) > 1:
        raise refused(url, NOT_A_PERSON + " (a VK profile link has a single name after vk.com/)", "vk")
    return _vk_segment(url, head)


def _vk_query_id(url: str, split: SplitUrl, key: str) -> ProfileRef:
    raw = split.first(key) or ""
    if raw.startswith(("-", "c")):
        raise refused(url, "it is a community or group chat, not a person", "vk")
    user_id = numeric_id(raw)
    if user_id is None:
        raise refused(url, "it is the VK messages page without a person's id", "vk")
    return ProfileRef("vk", "id", user_id)


def _vk_segment(url: str, head: str) -> ProfileRef:
    for prefix in ("id", "write"):
        if head.startswith(prefix) and head[len(prefix) :].isdigit():
            user_id = numeric_id(head[len(prefix) :])
            if user_id is None:
                raise refused(url, "the id in the link is not a valid VK id", "vk")
            return ProfileRef("vk", "id", user_id)
    if head.startswith("write-") or _VK_COMMUNITY.fullmatch(head):
        raise refused(url, "it is a community page, not a person", "vk")
    if _VK_CONTENT.fullmatch(head):
        raise refused(url, "it is a post, photo or other content, not a person's profile", "vk")
    if head in _VK_RESERVED or head.endswith((".php", ".html", ".htm")):
        raise refused(url, f"'{head}' is a VK service page, not a person's profile", "vk")
    if not _VK_NAME.fullmatch(head):
        raise refused(url, f"'{head}' is not a valid VK profile name", "vk")
    return ProfileRef("vk", "screen_name", head)


def vk_profile_url(ref: ProfileRef) -> str:
    """`https://vk.com/id<id>` or `https://vk.com/<screen_name>`."""
    if ref.network == "vk" and ref.kind == "id" and numeric_id(ref.value) == ref.value:
        return f"https://vk.com/id{ref.value}"
    if ref.kind == "screen_name" and names_itself(parse_vk_url, f"vk.com/{ref.value}", ref):
        return f"https://vk.com/{ref.value}"
    raise ValueError(f"not a VK profile reference: {ref!r}")
