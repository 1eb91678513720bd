"""Facebook profile links -> `ProfileRef`, and back to one canonical https link.

Host, scheme and look-alike rules, shared by every network: `providers._urlparse`. Facebook's own
decisions: vanity names are `[a-z0-9.]`, 4-50 characters, at least one letter (the task said "min 5", but
its own example `facebook.com/zuck` has 4: legacy names are shorter). A path of digits only
(`facebook.com/4`) is a numeric id. Dots are kept: Facebook ignores them, the provider may too.
`app_scoped_user_id/<psid>/` is the bridge's own form for a Page-scoped id.
"""

from __future__ import annotations

import re

from providers._urlparse import names_itself, numeric_id, refused, split_url
from providers.base import ProfileRef

FACEBOOK_HOSTS = frozenset({"facebook.com", "www.facebook.com", "m.facebook.com", "fb.com", "www.fb.com"})

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
        raise refused(url, "it is the Facebook home page, not a person's profile", "facebook")
    segments = [segment.lower() for segment in split.segments]
    head = segments[0]
    if head == "profile.php" and len(segments) == 1:
        user_id = numeric_id(split.first("id"))
        if user_id is None:
            raise refused(url, "the link has no valid id=<number> after profile.php", "facebook")
        return ProfileRef("facebook", "id", user_id)
    if head == "people" and len(segments) == 3:
        user_id = numeric_id(segments[2])
        if user_id is not None:
            return ProfileRef("facebook", "id", user_id)
    if head == "app_scoped_user_id" and len(segments) == 2:
        psid = numeric_id(segments[1])
        if psid is None:
            raise refused(url, "the Messenger id in the link is not a number", "facebook")
        return ProfileRef("facebook", "psid", psid)
    if head in _FB_RESERVED or head.endswith((".php", ".html", ".htm")):
        raise refused(url, f"'{head}' is a Facebook page, group or service page, not a person", "facebook")
    user_id = numeric_id(head)
    if user_id is not None:
        return ProfileRef("facebook", "id", user_id)
    if not _FB_NAME.fullmatch(head):
        raise refused(url, f"'{split.segments[0]}' is not a valid Facebook profile name", "facebook")
    return ProfileRef("facebook", "screen_name", head)


def facebook_profile_url(ref: ProfileRef) -> str:
    """`https://www.facebook.com/<name>`, `.../profile.php?id=<id>` or `.../app_scoped_user_id/<psid>/`."""
    if ref.network == "facebook" and numeric_id(ref.value) == ref.value:
        if ref.kind == "id":
            return f"https://www.facebook.com/profile.php?id={ref.value}"
        if ref.kind == "psid":
            return f"https://www.facebook.com/app_scoped_user_id/{ref.value}/"
    if ref.kind == "screen_name" and names_itself(parse_facebook_url, f"facebook.com/{ref.value}", ref):
        return f"https://www.facebook.com/{ref.value}"
    raise ValueError(f"not a Facebook profile reference: {ref!r}")
