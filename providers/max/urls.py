"""MAX profile links -> `ProfileRef`, and back.

A person's link is `max.ru/u/<opaque token>` (seen on many sites' contact buttons, never documented);
`max.ru/<name>` names a bot or a channel, `max.ru/join/...` an invitation to a group. No API turns the
opaque token into a `user_id` (`capabilities.resolves_profile_links` is False): the link is kept as a
"link" ref so the CRM field stays meaningful, and the client is linked by the invitation link instead.
The token is case-sensitive and kept as written. Ids learned from updates (a Start, a message) are "id"
refs; MAX has no link form for them, so the CRM field of a linked client holds the bare user id (digits),
which is what this parser reads as an id and `profile_url` writes back.
"""

from __future__ import annotations

import re

from providers._urlparse import redact, split_url
from providers.base import ProfileRef
from providers.errors import InvalidProfileUrl

NETWORK = "max"
HOSTS = frozenset({"max.ru", "www.max.ru", "web.max.ru"})
_LINK_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,128}")
_USER_ID = re.compile(r"[1-9][0-9]{0,18}")


def _fail(url: str, reason: str) -> InvalidProfileUrl:
    return InvalidProfileUrl(redact(url), reason, network=NETWORK)


def parse_max_url(url: str) -> ProfileRef | None:
    """`max.ru/u/f9LHodD0cOK...` -> ("max", "link", "f9LHodD0cOK..."); `123456` -> ("max", "id", "123456")."""
    if _USER_ID.fullmatch(url.strip()):
        return ProfileRef(NETWORK, "id", url.strip())
    split = split_url(url, HOSTS, NETWORK)
    if split is None:
        return None
    segments = split.segments
    if not segments:
        raise _fail(url, "it is MAX's home page, not a person")
    if segments[0].lower() == "u":
        if len(segments) != 2 or not _LINK_TOKEN.fullmatch(segments[1]):
            raise _fail(url, "the part after max.ru/u/ is not a valid MAX profile link")
        return ProfileRef(NETWORK, "link", segments[1])
    if segments[0].lower() == "join":
        raise _fail(url, "it is an invitation to a MAX group, not a person")
    raise _fail(url, "it names a MAX bot or channel, not a person (a person's link is max.ru/u/...)")


def max_profile_url(ref: ProfileRef) -> str:
    """`https://max.ru/u/<token>` for a link ref, the bare user id for an id ref."""
    if ref.network == NETWORK and ref.kind == "id" and _USER_ID.fullmatch(ref.value):
        return ref.value
    if ref.network == NETWORK and ref.kind == "link" and _LINK_TOKEN.fullmatch(ref.value):
        return f"https://max.ru/u/{ref.value}"
    raise ValueError(f"not a MAX profile link reference: {ref!r}")
