"""Adversarial fuzzing of the profile-link parsers: 15,900 generated links per run, derandomised.

1,200 adversarial examples x 9 host disguises (10,800 links) + 2,500 arbitrary texts + 1,200 links on
unrelated hosts + 1,200 refs through the canonical round trip; about 6 s of CPU.

Properties, for every generated link and every network:
* the parser returns None or a ProfileRef, or raises InvalidProfileUrl; nothing else escapes;
* an accepted link really is on the network: an independent parser (urllib) finds an http(s) scheme, no
  userinfo, no port and a host from the allow-list; and the ref survives the canonical round trip;
* a link on a plainly different host is None (so the bridge can ask the next network), never an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.base import ProfileRef
from providers.errors import InvalidProfileUrl
from providers.facebook.urls import FACEBOOK_HOSTS, facebook_profile_url, parse_facebook_url
from providers.vk.urls import VK_HOSTS, parse_vk_url, vk_profile_url
from providers.x.urls import X_HOSTS, parse_x_url, x_profile_url

NETWORKS: list[
    tuple[str, Callable[[str], ProfileRef | None], Callable[[ProfileRef], str], frozenset[str]]
] = [
    ("vk", parse_vk_url, vk_profile_url, VK_HOSTS),
    ("x", parse_x_url, x_profile_url, X_HOSTS),
    ("facebook", parse_facebook_url, facebook_profile_url, FACEBOOK_HOSTS),
]
ALL_HOSTS = sorted(VK_HOSTS | X_HOSTS | FACEBOOK_HOSTS)
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

HOMOGLYPHS = {"a": "а", "c": "с", "e": "е", "o": "о", "k": "к", "x": "х", "b": "ь", ".": "。", "m": "м"}


def _mutate_host(host: str, how: str, extra: str) -> str:
    if how == "suffix":
        return f"{host}.{extra or 'evil'}.org"
    if how == "prefix":
        return f"{extra or 'evil'}{host}"
    if how == "homoglyph":
        return "".join(HOMOGLYPHS.get(ch, ch) for ch in host)
    if how == "punycode":
        try:
            return "".join(HOMOGLYPHS.get(ch, ch) for ch in host).encode("idna").decode("ascii")
        except UnicodeError:
            return host
    if how == "percent":
        return host.replace(".", "%2e")
    if how == "upper":
        return host.upper()
    if how == "trailing_dot":
        return host + "."
    if how == "fullwidth":
        return "".join(chr(ord(ch) + 0xFEE0) if "a" <= ch <= "z" else ch for ch in host)
    return host


SCHEMES = ["", "", "http://", "https://", "HTTPS://", "//", "ftp://", "file://", "javascript:", "data:",
           "https:", "https:\\\\", "hxxp://", "https:///"]  # fmt: skip
USERINFOS = ["", "", "", "user@", "user:pw@", "vk.com@", "x.com@", "facebook.com@", "@", "a@b@"]
PORTS = ["", "", "", ":80", ":443", ":8080", ":", ":0x50"]
SLASHES = ["/", "/", "\\", ""]
QUERIES = [
    "",
    "",
    "?id=1",
    "?sel=5",
    "?sel=-5",
    "?user_id=12",
    "?screen_name=jack",
    "?id=abc",
    "?access_token=t",
]
FRAGMENTS = ["", "", "#top", "#!/jack", "#/durov", "#access_token=t"]
PADDING = ["", "", " ", "\t", "\n", "\u00a0", "\u200b", "\x00"]
MUTATIONS = [
    "none",
    "suffix",
    "prefix",
    "homoglyph",
    "punycode",
    "percent",
    "upper",
    "trailing_dot",
    "fullwidth",
]
HOST_TAILS = ["", "", "", ".evil.org", "evil", "\u0430", "%2e", "."]
DECORATION_PARTS = [SCHEMES, USERINFOS, PORTS, SLASHES, QUERIES, FRAGMENTS, PADDING]

schemes = st.sampled_from(SCHEMES)
words = st.sampled_from(
    ["id1", "id0", "id", "durov", "idealist", "club1", "public2", "event3", "write5", "write-5", "im", "feed",
     "jack", "home", "i", "user", "intent", "status", "20", "zuck", "profile.php", "people", "pages",
     "app_scoped_user_id", "4", "..", ".", "%2e%2e", "%2F", "%00", "a" * 40, "ID123", "Mark.Zuckerberg"]
)  # fmt: skip
segments = st.one_of(words, st.text(max_size=12))


def _decoration(index: int) -> list[str]:
    """Decode one integer into a choice from every decoration list (mixed radix).

    One draw instead of seven: the engine's per-draw cost, not the parsers, dominates the run time.
    """
    chosen = []
    for options in DECORATION_PARTS:
        index, pick = divmod(index, len(options))
        chosen.append(options[pick])
    return chosen


def _variants(parts: tuple[int, str, str, str, list[str]]) -> list[str]:
    """One drawn link in every host disguise: each generated example is checked as len(MUTATIONS) links."""
    index, host, tail, random_host, path = parts
    scheme, userinfo, port, slash, query, fragment, pad = _decoration(index)
    hosts = [_mutate_host(host, how, "") + tail for how in MUTATIONS]
    if tail == "." and random_host:
        hosts[-1] = random_host
    rest = port + slash + "/".join(path) + query + fragment + pad
    return [pad + scheme + userinfo + disguised + rest for disguised in hosts]


adversarial_links = st.tuples(
    st.integers(0, math.prod(len(options) for options in DECORATION_PARTS) - 1),
    st.sampled_from(ALL_HOSTS),
    st.sampled_from(HOST_TAILS),
    st.text(max_size=8),
    st.lists(segments, max_size=3),
).map(_variants)


def _assert_sound(url: str) -> None:
    for network, parse, build, hosts in NETWORKS:
        try:
            ref = parse(url)
        except InvalidProfileUrl as exc:
            assert exc.network == network
            continue
        if ref is None:
            continue
        assert ref.network == network
        _assert_really_on(url, hosts)
        assert parse(build(ref)) == ref


def _assert_really_on(url: str, hosts: frozenset[str]) -> None:
    """Check an accepted link with urllib, independently of the code under test."""
    text = url.strip()
    assert len(url) <= 2048
    assert "\\" not in text
    assert all(ch.isprintable() and not ch.isspace() for ch in text), repr(url)
    if text.startswith("//"):
        text = "https:" + text
    elif "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    assert parts.scheme.lower() in ("http", "https"), url
    assert parts.username is None and parts.password is None, url
    assert parts.port is None, url
    assert parts.hostname in hosts, url


@settings(FUZZ, max_examples=1200)
@given(adversarial_links)
def test_adversarial_links_are_never_accepted_off_the_allow_list(urls: list[str]) -> None:
    assert len(urls) == len(MUTATIONS)
    for url in urls:
        _assert_sound(url)


@settings(FUZZ, max_examples=2500)
@given(st.text(max_size=80))
def test_arbitrary_text_never_escapes_with_another_exception(url: str) -> None:
    _assert_sound(url)


@settings(FUZZ, max_examples=1200)
@given(
    st.tuples(
        st.sampled_from(["evil", "example", "vk-com", "x-com", "facebook-com", "fb", "twitter-login", "a1"]),
        st.sampled_from([".org", ".net", ".ru", ".com", ".example", ".vk.com.org"]),
    ).map("".join),
    st.lists(segments, max_size=3),
    schemes,
)
def test_links_on_unrelated_hosts_are_none_for_every_network(host: str, path: list[str], scheme: str) -> None:
    url = scheme + host + "/" + "/".join(path)
    for _, parse, _, hosts in NETWORKS:
        if host not in hosts:
            assert parse(url) is None, url


@settings(FUZZ, max_examples=1200)
@given(
    st.sampled_from(NETWORKS),
    st.one_of(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.", min_size=1, max_size=40),
        st.text(alphabet="0123456789", min_size=1, max_size=22),
    ),
    st.sampled_from(["id", "screen_name", "psid"]),
)
def test_every_ref_a_builder_accepts_round_trips(
    network: tuple[str, Callable[[str], ProfileRef | None], Callable[[ProfileRef], str], frozenset[str]],
    value: str,
    kind: str,
) -> None:
    name, parse, build, hosts = network
    ref = ProfileRef(name, kind, value)
    try:
        url = build(ref)
    except ValueError:
        return
    assert parse(url) == ref
    assert urlsplit(url).hostname in hosts
    for other_name, other_parse, _, _ in NETWORKS:
        if other_name != name:
            assert other_parse(url) is None
