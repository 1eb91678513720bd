"""Telegram profile links -> `ProfileRef`, and back.

Accepted: `t.me/<username>`, `telegram.me/<username>` (and `www.`), `<username>.t.me`,
`tg://resolve?domain=<username>` (a username) and `tg://user?id=<id>` (the only link form that carries a
user id; `profile_url` gives it back for id refs, as no https form exists). Usernames are 4-32 characters of
`[A-Za-z0-9_]`, start with a letter, with no double or trailing underscore (5 is the minimum for new names,
4 for collectible ones), compared without case. Refused with a reason: bot names (ending in `bot`: a bot is
not a client), phone-number links (`t.me/+7...`), invite and group links, posts (`t.me/<name>/<n>`) and
Telegram's service paths.

A username never becomes an account id: the Bot API cannot look a user up by name
(`capabilities.resolves_profile_links` is False); a client is linked by the invitation link instead.
"""

from __future__ import annotations

import re

from providers._urlparse import redact, split_url
from providers.base import ProfileRef
from providers.errors import InvalidProfileUrl

NETWORK = "telegram"
HOSTS = frozenset({"t.me", "www.t.me", "telegram.me", "www.telegram.me", "telegram.dog"})
USERNAME = re.compile(r"[a-z](?!.*__)[a-z0-9_]{2,30}[a-z0-9]")
_SUBDOMAIN = re.compile(r"^(?:https?://)?([A-Za-z0-9_]{4,32})\.t\.me/?$")
_TG = re.compile(r"^tg://(resolve|user)\?([^#\s]*)$", re.IGNORECASE)
_RESERVED = frozenset(
    {
        "joinchat",
        "addstickers",
        "addemoji",
        "addtheme",
        "addlist",
        "share",
        "s",
        "c",
        "proxy",
        "socks",
        "iv",
        "login",
        "setlanguage",
        "bg",
        "confirmphone",
        "invoice",
        "boost",
        "contact",
        "m",
        "giftcode",
        "nft",
        "addpremium",
        "premium",
        "blog",
        "apps",
        "stickers",
        "privacy",
        "faq",
    }
)
_ID = re.compile(r"[1-9][0-9]{0,15}")


def _fail(url: str, reason: str) -> InvalidProfileUrl:
    return InvalidProfileUrl(redact(url), reason, network=NETWORK)


def _username(url: str, name: str) -> ProfileRef:
    lowered = name.lower()
    if lowered in _RESERVED:
        raise _fail(url, f"'{name}' is a Telegram service page, not a person")
    if not USERNAME.fullmatch(lowered):
        raise _fail(
            url, f"'{name}' is not a valid Telegram username (4-32 letters, digits, _; starts with a letter)"
        )
    if lowered.endswith("bot"):
        raise _fail(url, f"'{name}' is a bot, not a person")
    return ProfileRef(NETWORK, "screen_name", lowered)


def parse_telegram_url(url: str) -> ProfileRef | None:
    """What a Telegram link names: `t.me/Ivan_Petrov` -> ("telegram", "screen_name", "ivan_petrov")."""
    text = url.strip()
    tg = _TG.match(text)
    if tg is not None:
        params = dict(part.partition("=")[::2] for part in tg[2].split("&") if part)
        if tg[1].lower() == "user":
            if not _ID.fullmatch(params.get("id", "")):
                raise _fail(url, "the tg://user link has no valid id=<number>")
            return ProfileRef(NETWORK, "id", params["id"])
        return _username(url, params.get("domain", ""))
    sub = _SUBDOMAIN.match(text)
    if sub is not None and sub[1].lower() not in ("www",):
        return _username(url, sub[1])
    split = split_url(url, HOSTS, NETWORK)
    if split is None:
        return None
    if not split.segments:
        raise _fail(url, "it is Telegram's home page, not a person")
    head = split.segments[0]
    if head.startswith("+"):
        raise _fail(url, "it is a phone-number or invite link; a bot cannot reach a person by phone number")
    if len(split.segments) > 1:
        raise _fail(url, "it points to a post, group or page, not a person (a profile link is t.me/<name>)")
    return _username(url, head)


def telegram_profile_url(ref: ProfileRef) -> str:
    """`https://t.me/<username>`, or `tg://user?id=<id>` for an id (Telegram has no https form of it)."""
    if ref.network == NETWORK and ref.kind == "id" and _ID.fullmatch(ref.value):
        return f"tg://user?id={ref.value}"
    if ref.network == NETWORK and ref.kind == "screen_name":
        try:
            if parse_telegram_url(f"t.me/{ref.value}") == ref:
                return f"https://t.me/{ref.value}"
        except InvalidProfileUrl:
            pass
    raise ValueError(f"not a Telegram profile reference: {ref!r}")
