"""Profile links -> ProfileRef for VK, X and Facebook: accepted shapes, refusals, look-alikes, round trips."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from providers.base import ProfileRef
from providers.errors import InvalidProfileUrl
from providers.facebook.urls import FACEBOOK_HOSTS, facebook_profile_url, parse_facebook_url
from providers.vk.urls import VK_HOSTS, parse_vk_url, vk_profile_url
from providers.x.urls import X_HOSTS, parse_x_url, x_profile_url

Parser = Callable[[str], ProfileRef | None]
PARSERS: dict[str, Parser] = {"vk": parse_vk_url, "x": parse_x_url, "facebook": parse_facebook_url}


def vk(kind: str, value: str) -> ProfileRef:
    return ProfileRef("vk", kind, value)


def x(kind: str, value: str) -> ProfileRef:
    return ProfileRef("x", kind, value)


def fb(kind: str, value: str) -> ProfileRef:
    return ProfileRef("facebook", kind, value)


VALID = [
    # VK: ids, names, every host, every decoration a CRM user adds
    ("vk", "vk.com/id1", vk("id", "1")),
    ("vk", "https://vk.com/id123", vk("id", "123")),
    ("vk", "http://vk.com/id123/", vk("id", "123")),
    ("vk", "  HTTPS://WWW.VK.COM/ID123?ref=crm#top  ", vk("id", "123")),
    ("vk", "//m.vk.com/id5", vk("id", "5")),
    ("vk", "m.vk.ru/id5", vk("id", "5")),
    ("vk", "https://vk.ru/durov", vk("screen_name", "durov")),
    ("vk", "vkontakte.ru/id1", vk("id", "1")),
    ("vk", "http://vkontakte.ru/profile.php?id=42", vk("id", "42")),
    ("vk", "new.vk.com/Durov", vk("screen_name", "durov")),
    ("vk", "vk.com/idealist", vk("screen_name", "idealist")),
    ("vk", "vk.com/id_card", vk("screen_name", "id_card")),
    ("vk", "vk.com/id12abc", vk("screen_name", "id12abc")),
    ("vk", "vk.com/ivan.petrov_1990", vk("screen_name", "ivan.petrov_1990")),
    ("vk", "vk.com/tj", vk("screen_name", "tj")),
    ("vk", "vk.com/club_fans", vk("screen_name", "club_fans")),
    ("vk", "vk.com/write123", vk("id", "123")),
    ("vk", "https://vk.com/im?sel=77&v=", vk("id", "77")),
    ("vk", "vk.com/%64urov", vk("screen_name", "durov")),
    ("vk", "vk.com/#/durov", vk("screen_name", "durov")),
    ("vk", "vk.com/id007", vk("id", "7")),
    # X
    ("x", "x.com/jack", x("screen_name", "jack")),
    ("x", "https://twitter.com/Jack", x("screen_name", "jack")),
    ("x", "https://mobile.twitter.com/jack/", x("screen_name", "jack")),
    ("x", "mobile.x.com/JACK?s=20&t=abc", x("screen_name", "jack")),
    ("x", "www.x.com/a", x("screen_name", "a")),
    ("x", "x.com/abcdefghij_1234", x("screen_name", "abcdefghij_1234")),
    ("x", "x.com/jack/status/20", x("screen_name", "jack")),
    ("x", "https://twitter.com/jack/with_replies", x("screen_name", "jack")),
    ("x", "http://twitter.com/#!/jack", x("screen_name", "jack")),
    ("x", "x.com/i/user/12", x("id", "12")),
    ("x", "https://twitter.com/intent/user?user_id=2244994945", x("id", "2244994945")),
    ("x", "twitter.com/intent/user?screen_name=Jack", x("screen_name", "jack")),
    ("x", "x.com/intent/follow?user_id=12", x("id", "12")),
    ("x", "x.com/twitter", x("screen_name", "twitter")),
    ("x", "x.com/Verified", x("screen_name", "verified")),  # a real account, not a route
    # Facebook
    ("facebook", "facebook.com/zuck", fb("screen_name", "zuck")),
    ("facebook", "https://www.facebook.com/Mark.Zuckerberg/", fb("screen_name", "mark.zuckerberg")),
    ("facebook", "m.facebook.com/john.smith.55?ref=bookmarks", fb("screen_name", "john.smith.55")),
    ("facebook", "fb.com/zuck", fb("screen_name", "zuck")),
    ("facebook", "https://www.facebook.com/profile.php?id=100004567890123", fb("id", "100004567890123")),
    ("facebook", "facebook.com/profile.php?id=4&sk=about", fb("id", "4")),
    ("facebook", "facebook.com/people/John-Smith/100012345", fb("id", "100012345")),
    ("facebook", "facebook.com/4", fb("id", "4")),
    ("facebook", "https://www.facebook.com/app_scoped_user_id/987654321/", fb("psid", "987654321")),
    ("facebook", "facebook.com/zuck/about", fb("screen_name", "zuck")),
]


@pytest.mark.parametrize(("network", "url", "expected"), VALID)
def test_valid_links_name_the_person(network: str, url: str, expected: ProfileRef) -> None:
    assert PARSERS[network](url) == expected


@pytest.mark.parametrize(("network", "url", "expected"), VALID)
def test_a_valid_link_is_none_for_the_other_networks(network: str, url: str, expected: ProfileRef) -> None:
    for other, parse in PARSERS.items():
        if other != network:
            assert parse(url) is None, (other, url)


NOT_A_PERSON = [
    # (network, url, words the CRM user must see in the reason)
    ("vk", "vk.com", "home page"),
    ("vk", "https://vk.com/", "home page"),
    ("vk", "vk.com/club123", "community"),
    ("vk", "vk.com/public123", "community"),
    ("vk", "vk.com/event123", "community"),
    ("vk", "vk.com/write-123", "community"),
    ("vk", "vk.com/im?sel=-123", "community"),
    ("vk", "vk.com/im?sel=c5", "group chat"),
    ("vk", "vk.com/im", "messages page"),
    ("vk", "vk.com/feed", "service page"),
    ("vk", "vk.com/settings", "service page"),
    ("vk", "vk.com/friends?id=1", "service page"),
    ("vk", "vk.com/wall1_45", "post"),
    ("vk", "vk.com/photo-1_456239017", "photo"),
    ("vk", "vk.com/id0", "not a valid VK id"),
    ("vk", "vk.com/12345", "not a valid VK profile name"),
    ("vk", "vk.com/a", "not a valid VK profile name"),
    ("vk", "vk.com/.durov", "not a valid VK profile name"),
    ("vk", "vk.com/du..rov", "not a valid VK profile name"),
    ("vk", "vk.com/" + "a" * 33, "not a valid VK profile name"),
    ("vk", "vk.com/durov/photos", "single name"),
    ("vk", "vk.com/blank.html#access_token=abc", "service page"),
    ("x", "x.com", "home page"),
    ("x", "x.com/home", "service page"),
    ("x", "https://twitter.com/i/flow/login", "service page"),
    ("x", "x.com/explore", "service page"),
    ("x", "x.com/hashtag/python", "service page"),
    ("x", "x.com/search?q=jack", "service page"),
    ("x", "twitter.com/intent/tweet?text=hi", "service page"),
    ("x", "twitter.com/intent/user", "names no account"),
    ("x", "x.com/i/user/abc", "not a valid X account id"),
    ("x", "x.com/abcdefghij_12345", "not a valid X handle"),
    ("x", "x.com/jack-smith", "not a valid X handle"),
    ("facebook", "facebook.com", "home page"),
    ("facebook", "facebook.com/pages/Acme/123456", "not a person"),
    ("facebook", "facebook.com/groups/python", "not a person"),
    ("facebook", "facebook.com/events/123", "not a person"),
    ("facebook", "facebook.com/watch?v=1", "not a person"),
    ("facebook", "facebook.com/marketplace", "not a person"),
    ("facebook", "facebook.com/sharer/sharer.php?u=x", "not a person"),
    ("facebook", "facebook.com/login.php", "not a person"),
    ("facebook", "facebook.com/profile.php", "id=<number>"),
    ("facebook", "facebook.com/profile.php?id=abc", "id=<number>"),
    ("facebook", "facebook.com/app_scoped_user_id/abc/", "not a number"),
    ("facebook", "facebook.com/abc", "not a valid Facebook profile name"),
    ("facebook", "facebook.com/john_smith", "not a valid Facebook profile name"),
]


@pytest.mark.parametrize(("network", "url", "reason_part"), NOT_A_PERSON)
def test_links_on_the_network_that_name_no_person_are_refused(
    network: str, url: str, reason_part: str
) -> None:
    with pytest.raises(InvalidProfileUrl) as caught:
        PARSERS[network](url)
    assert reason_part in caught.value.reason
    assert caught.value.network == network


HOSTILE = [
    # aimed at the network, but hostile or malformed: refused with an error, never accepted
    ("vk", "vk.com@evil.org/id1"),
    ("vk", "https://vk.com:443@evil.org/id1"),
    ("vk", "https://user:pw@vk.com/id1"),
    ("vk", "vk.com:8080/id1"),
    ("vk", "ftp://vk.com/id1"),
    ("vk", "file://vk.com/id1"),
    ("vk", "javascript://vk.com/%0aalert(1)"),
    ("vk", "https://vк.com/id1"),  # Cyrillic к
    ("vk", "https://xn--v-ttb.com/id1"),
    ("vk", "https://vk%2ecom/id1"),
    ("vk", "https://vk%252ecom/id1"),
    ("vk", "https://ｖｋ.com/id1"),  # full-width
    ("vk", "https://vk。com/id1"),
    ("vk", "https://vk.com./id1"),
    ("vk", "https:\\\\vk.com\\id1"),
    ("vk", "https://vk.com/id1\x00"),
    ("vk", "https://vk.com/i\u200bd1"),
    ("vk", "https://vk.com/" + "a" * 2048),
    ("vk", "https:vk.com/id1"),
    ("vk", "vk.com/%2e%2e/id1"),
    ("x", "https://x.com@evil.org/jack"),
    ("x", "https://х.com/jack"),  # Cyrillic х
    ("x", "https://xn--u1a.com/jack"),
    ("x", "data://x.com/jack"),
    ("facebook", "https://faсebook.com/zuck"),  # Cyrillic с
    ("facebook", "https://xn--faebook-zjg.com/zuck"),
    ("facebook", "https://www.facebook.com:80/zuck"),
    ("facebook", "facebook.com/zuck%2F..%2F"),
]


@pytest.mark.parametrize(("network", "url"), HOSTILE)
def test_hostile_links_aimed_at_the_network_are_refused(network: str, url: str) -> None:
    with pytest.raises(InvalidProfileUrl) as caught:
        PARSERS[network](url)
    assert caught.value.network == network


OTHER_SITES = [
    "",
    "   ",
    "durov",
    "https://example.org/id1",
    "vk.com.evil.org/id1",
    "https://evil.org/vk.com/id1",
    "https://x.com.evil.org/jack",
    "https://facebook.com.evil.org/zuck",
    "https://notvk.com/id1",
    "https://vk.co/id1",
    "https://evil.org@example.org/",
    "https://example.org:8080/",
    "javascript:alert(1)",
    "mailto:someone@example.org",
    "https://oauth.vk.com/authorize?client_id=1",
    "https://instagram.com/zuck",
    "https://t.me/durov",
    "https://xn--e1afmkfd.xn--p1ai/",
    "https://\u0440\u0444.example/",
]


@pytest.mark.parametrize("url", OTHER_SITES)
def test_other_sites_are_none_for_every_network(url: str) -> None:
    for parse in PARSERS.values():
        assert parse(url) is None


def test_error_message_never_shows_a_password_or_token() -> None:
    for url in ("https://ivan:s3cretpw@vk.com/id1", "vk.com/blank.html#access_token=tok3n123&expires_in=0"):
        with pytest.raises(InvalidProfileUrl) as caught:
            parse_vk_url(url)
        for secret in ("s3cretpw", "tok3n123"):
            assert secret not in str(caught.value)
            assert secret not in caught.value.url


def test_host_lists_are_what_the_task_names() -> None:
    assert {"vk.com", "vk.ru", "m.vk.com", "vkontakte.ru", "new.vk.com", "m.vk.ru"} <= VK_HOSTS
    assert {"twitter.com", "x.com", "mobile.twitter.com", "mobile.x.com"} <= X_HOSTS
    assert {"facebook.com", "m.facebook.com", "www.facebook.com", "fb.com"} <= FACEBOOK_HOSTS
    for hosts in (VK_HOSTS, X_HOSTS, FACEBOOK_HOSTS):
        assert all(host == host.lower() and host.isascii() for host in hosts)


CANONICAL = [
    (vk("id", "123"), vk_profile_url, parse_vk_url, "https://vk.com/id123"),
    (vk("screen_name", "durov"), vk_profile_url, parse_vk_url, "https://vk.com/durov"),
    (vk("screen_name", "idealist"), vk_profile_url, parse_vk_url, "https://vk.com/idealist"),
    (x("screen_name", "jack"), x_profile_url, parse_x_url, "https://x.com/jack"),
    (x("id", "12"), x_profile_url, parse_x_url, "https://x.com/i/user/12"),
    (fb("screen_name", "zuck"), facebook_profile_url, parse_facebook_url, "https://www.facebook.com/zuck"),
    (fb("id", "4"), facebook_profile_url, parse_facebook_url, "https://www.facebook.com/profile.php?id=4"),
    (
        fb("psid", "987"),
        facebook_profile_url,
        parse_facebook_url,
        "https://www.facebook.com/app_scoped_user_id/987/",
    ),
]


@pytest.mark.parametrize(("ref", "build", "parse", "url"), CANONICAL)
def test_canonical_links_round_trip(
    ref: ProfileRef, build: Callable[[ProfileRef], str], parse: Parser, url: str
) -> None:
    assert build(ref) == url
    assert parse(url) == ref


@pytest.mark.parametrize(("network", "url", "expected"), VALID)
def test_every_parsed_link_round_trips_through_its_canonical_form(
    network: str, url: str, expected: ProfileRef
) -> None:
    build = {"vk": vk_profile_url, "x": x_profile_url, "facebook": facebook_profile_url}[network]
    canonical = build(expected)
    assert canonical.startswith("https://")
    assert PARSERS[network](canonical) == expected


@pytest.mark.parametrize(
    ("build", "ref"),
    [
        (vk_profile_url, x("screen_name", "jack")),
        (vk_profile_url, vk("id", "0")),
        (vk_profile_url, vk("screen_name", "Durov")),
        (vk_profile_url, vk("screen_name", "club1")),
        (vk_profile_url, vk("screen_name", "a/../b")),
        (x_profile_url, x("screen_name", "home")),
        (x_profile_url, x("id", "12a")),
        (facebook_profile_url, fb("screen_name", "pages")),
        (facebook_profile_url, fb("psid", "")),
        (facebook_profile_url, vk("id", "1")),
    ],
)
def test_building_a_link_from_an_invalid_ref_is_a_programming_error(
    build: Callable[[ProfileRef], str], ref: ProfileRef
) -> None:
    with pytest.raises(ValueError, match="not a"):
        build(ref)
