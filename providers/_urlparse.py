"""Strict splitting of a profile link typed into a CRM field, shared by every network's `urls.py`.

People paste links in every shape (`VK.com/Durov`, `  https://www.facebook.com/zuck/ `, `x.com/jack?s=20`),
so the scheme, `www.`, case, surrounding whitespace, query and fragment are forgiven. Anything that could
make the link *look* like one network while pointing somewhere else is not:

* only `http`/`https` (or no scheme, or `//`); no userinfo (`vk.com@evil.org`), no port, no IPv6 literal;
* the host must be byte-for-byte one of the network's allowed hosts, in ASCII; no trailing dot;
* no backslashes (browsers read them as `/`, our splitter would not), control/format characters or
  whitespace inside the link, and at most `MAX_URL_LENGTH` characters.

When a link fails these rules the caller needs to know whether it was *aimed at* this network (then the CRM
user gets a clear error) or is simply someone else's link (then the next network is asked). `split_url`
decides that with `_resembles`: the host, or anything posing as the host (userinfo, a percent-encoded,
punycode, full-width or Cyrillic-homoglyph spelling), folds to an allowed host.

What every network's `urls.py` does alike (each network's own decisions are in its module):

* `parse_<network>_url` returns None for a link that is not on its network (the bridge asks each network
  in turn), a `ProfileRef` for a link that names a person, and raises `InvalidProfileUrl` for a link that
  is on the network (or poses as it) but names no person.
* Old hash-bang links (`twitter.com/#!/jack`) are read through their fragment.
* A different site that merely contains the network's name (`vk.com.evil.org`, `evil.org/vk.com/id1`) is
  None: it is not a link of ours. A link *disguised* as ours (userinfo, port, other scheme, homoglyphs,
  punycode, percent-encoding, backslashes, control characters, > 2048 characters) raises, so the CRM user
  learns why it was refused. The exception's `url` is redacted (userinfo and token-like values masked).
* `<network>_profile_url` of a ref the parser could never produce raises ValueError (a programming error).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from providers.base import ProfileRef
from providers.errors import InvalidProfileUrl

MAX_URL_LENGTH = 2048

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
# Letters that render like Latin ones in common fonts: enough to unmask `vк.com`, `faсebook.com`, `х.com`.
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "с": "c",
        "е": "e",
        "һ": "h",
        "і": "i",
        "ј": "j",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "ѕ": "s",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѵ": "v",
        "ԛ": "q",
        "ԝ": "w",
        "ь": "b",
        "ɡ": "g",
        "ι": "i",
        "κ": "k",
        "ο": "o",
        "ν": "v",
        "τ": "t",
        "χ": "x",
        "ϲ": "c",
        "ʋ": "v",
        "ᴠ": "v",
        "。": ".",
        "｡": ".",
        "․": ".",
        "﹒": ".",
    }
)
_SENSITIVE_KEY = re.compile(r"token|secret|key|sig|sess|code|pass|auth", re.IGNORECASE)
_NUMERIC_ID = re.compile(r"[1-9][0-9]{0,19}")
NOT_A_PERSON = "it does not point to a person's profile"


@dataclass(frozen=True, slots=True)
class SplitUrl:
    """An accepted link: its allowed host, decoded non-empty path segments, query and fragment."""

    host: str
    segments: tuple[str, ...]
    query: dict[str, list[str]]
    fragment: str

    def first(self, key: str) -> str | None:
        """The first value of query parameter `key`, or None."""
        values = self.query.get(key)
        return values[0] if values else None


def redact(url: str) -> str:
    """`url` safe to show in an error: userinfo dropped, values of token-like parameters masked.

    Someone may paste an OAuth redirect (`.../blank.html#access_token=...`) into a profile field; the error
    message must not carry the token into logs.
    """
    url = re.sub(r"^(\s*(?:[A-Za-z][A-Za-z0-9+.\-]*://|//)?)[^/?#]*@", r"\1***@", url, count=1)
    return re.sub(
        r"([?&#;]|^)([^=&#;?]*)=([^&#;]*)",
        lambda m: f"{m[1]}{m[2]}=***" if _SENSITIVE_KEY.search(m[2]) else m[0],
        url,
    )


def _is_hostile_char(char: str) -> bool:
    category = unicodedata.category(char)
    return char == "\\" or char.isspace() or category in ("Cc", "Cf", "Co", "Cs", "Zl", "Zp")


def _fold(candidate: str) -> str:
    """A host-like string as a human would read it: decoded, NFKC, punycode, homoglyphs folded."""
    text = "".join(ch for ch in candidate if not _is_hostile_char(ch))
    for _ in range(3):  # double-encoded `%252e` is read as `.` by some intermediaries
        text = unquote(text)
    text = unicodedata.normalize("NFKC", text).lower()
    labels = []
    for label in text.split("."):
        if label.startswith("xn--"):
            try:
                label = label[4:].encode("ascii").decode("punycode")
            except (UnicodeError, ValueError):
                pass
        labels.append(label)
    text = unicodedata.normalize("NFKC", ".".join(labels)).lower().translate(_CONFUSABLES)
    return text.strip(".")


def _resembles(candidates: list[str], hosts: frozenset[str]) -> bool:
    for candidate in candidates:
        folded = _fold(candidate)
        if folded in hosts or folded.removeprefix("www.") in hosts:
            return True
    return False


def _rough_authority(text: str) -> str:
    """Best-effort authority of a link we are about to refuse, for the resemblance check only."""
    match = _SCHEME.match(text)
    if match and "." not in match[1]:
        text = text[match.end() :]
    text = text.lstrip("/\\")
    return re.split(r"[/\\?#]", text, maxsplit=1)[0]


def _pretenders(authority: str) -> list[str]:
    """Every part of an authority that could pose as the host: `user:pw@host:port` -> user, host."""
    parts = [authority]
    for piece in re.split(r"@", authority):
        parts.append(piece)
        parts.append(piece.split(":", 1)[0])
        parts.append(piece.rsplit(":", 1)[0])
    return parts


def split_url(url: str, hosts: frozenset[str], network: str) -> SplitUrl | None:
    """Split `url` if it is a well-formed link on `hosts`.

    Returns None for empty input and for links that are neither on `hosts` nor posing as them.

    Raises:
        InvalidProfileUrl: the link is aimed at `hosts` but is malformed or hostile.
    """

    def refuse(reason: str, authority: str) -> None:
        if _resembles(_pretenders(authority), hosts):
            raise InvalidProfileUrl(redact(url), reason, network=network)

    text = url.strip()
    if not text:
        return None
    if len(url) > MAX_URL_LENGTH:
        refuse(f"the link is longer than {MAX_URL_LENGTH} characters", _rough_authority(text))
        return None
    if any(_is_hostile_char(ch) for ch in text):
        refuse("the link contains spaces, backslashes or invisible characters", _rough_authority(text))
        return None

    match = _SCHEME.match(text)
    if match and "." not in match[1]:  # `vk.com:80` is a host and port, not a scheme
        scheme = match[1].lower()
        rest = text[match.end() :]
        if scheme not in ("http", "https") or not rest.startswith("//"):
            refuse("only http:// and https:// links can be used", _rough_authority(text))
            return None
        text = rest[2:]
    elif text.startswith("//"):
        text = text[2:]

    authority, remainder = _partition_authority(text)
    host = authority.lower()
    if "@" in authority:
        refuse("the link contains a user name before the site name", authority)
        return None
    if ":" in authority or "[" in authority:
        refuse("the link contains a port number", authority)
        return None
    if host not in hosts:
        # Punycode (`xn--v-ttb.com`) passes as ASCII, so every unknown host gets the look-alike check.
        refuse("the site name is spelled with look-alike or encoded characters", authority)
        return None  # another site: `vk.com.evil.org`, `evil.org/vk.com/id1`
    return _split_rest(host, remainder, url, network)


def _partition_authority(text: str) -> tuple[str, str]:
    match = re.search(r"[/?#]", text)
    if match is None:
        return text, ""
    return text[: match.start()], text[match.start() :]


def _split_rest(host: str, remainder: str, url: str, network: str) -> SplitUrl:
    rest, _, fragment = remainder.partition("#")
    path, _, query = rest.partition("?")
    # Links saved before 2012 put the page in the fragment: `twitter.com/#!/jack`, `vk.com/#/durov`.
    if path.strip("/") == "" and fragment.startswith(("!/", "/")):
        path, _, query = fragment.lstrip("!").partition("?")
        fragment = ""
    segments = []
    for raw in path.split("/"):
        if not raw:
            continue
        try:
            segment = unquote(raw, errors="strict")
        except UnicodeError:
            segment = "\ufffd"
        if segment in (".", "..") or any(_is_hostile_char(ch) or ch in "/?#%\ufffd" for ch in segment):
            raise InvalidProfileUrl(
                redact(url), "the link's path contains encoded special characters", network=network
            )
        segments.append(segment)
    try:
        params = parse_qs(query, keep_blank_values=True, errors="strict")
    except (UnicodeError, ValueError):
        params = {}
    return SplitUrl(host=host, segments=tuple(segments), query=params, fragment=fragment)


# --- helpers of the networks' rules ---------------------------------------------------------------


def refused(url: str, reason: str, network: str) -> InvalidProfileUrl:
    """The error for a link of `network` that names no person (the link redacted)."""
    return InvalidProfileUrl(redact(url), reason, network=network)


def numeric_id(value: str | None) -> str | None:
    """`value` as a canonical positive id (leading zeros dropped), or None."""
    if value is None or not value.isascii() or not value.isdigit():
        return None
    stripped = value.lstrip("0")
    return stripped if _NUMERIC_ID.fullmatch(stripped) else None


def names_itself(parse: Callable[[str], ProfileRef | None], url: str, ref: ProfileRef) -> bool:
    """True when `url` built from `ref.value` parses back to `ref` (so the value is a valid name)."""
    try:
        return parse(url) == ref
    except InvalidProfileUrl:
        return False
