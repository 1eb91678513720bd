"""XProvider against the X sandbox over real HTTP: lookups, profile mapping, DMs and exactly-once sends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from providers.base import AccountId, Profile, ProfileRef, Provider
from providers.x import XProvider
from providers.x.profiles import split_name
from sandbox.x import XSandbox
from tests.fakes import FakeClock
from tests.x_support import EPOCH_START, contract_violations, make_provider


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH_START)


@pytest.fixture
def x(clock: FakeClock) -> Iterator[XSandbox]:
    with XSandbox(clock=clock) as sandbox:
        yield sandbox
        assert contract_violations(sandbox) == []
        assert sandbox.tweets == [], "the X provider must never post a tweet"


@pytest.fixture
def provider(x: XSandbox, clock: FakeClock) -> Iterator[XProvider]:
    with make_provider(x, clock) as p:
        yield p


def ref(value: str, kind: str = "screen_name") -> ProfileRef:
    return ProfileRef("x", kind, value)


def test_is_a_provider_with_honest_capabilities(provider: XProvider) -> None:
    assert isinstance(provider, Provider)
    assert provider.name == "x"
    caps = provider.capabilities
    assert caps.max_text_length == 10_000 and not caps.needs_prior_inbound and caps.reply_window is None
    assert "birthday" not in caps.profile_fields and "email" not in caps.profile_fields


def test_urls_go_through_the_shared_parser(provider: XProvider) -> None:
    assert provider.parse_profile_url("https://x.com/Jack") == ref("jack")
    assert provider.parse_profile_url("https://vk.com/durov") is None
    assert provider.profile_url(ref("jack")) == "https://x.com/jack"


def test_resolve_batches_names_and_needs_no_request_for_ids(x: XSandbox, provider: XProvider) -> None:
    names = [f"user_{i}" for i in range(150)]
    ids = {name: x.add_user(name, f"User {i}", accepts_dms=i % 2 == 0) for i, name in enumerate(names)}
    junk = [ref("nobody"), ref("bad-name!"), ref("12345", "id"), ProfileRef("vk", "id", "1")]
    refs = [ref(n) for n in names] + junk
    found = provider.resolve(refs)
    assert found[ref("12345", "id")] == "12345"
    assert all(found[ref(n)] == ids[n] for n in names)
    assert ref("nobody") not in found and ref("bad-name!") not in found
    assert provider.stats == {"GET /2/users/by": 2}  # 150 names -> 2 calls of <= 100; ids and junk cost none
    assert provider.accepts_dms(AccountId(ids["user_1"])) is False
    assert provider.accepts_dms(AccountId(ids["user_2"])) is True


def test_resolve_matches_names_case_insensitively(x: XSandbox, provider: XProvider) -> None:
    uid = x.add_user("TwitterDev", "Twitter Dev")
    assert provider.resolve([ref("twitterdev")]) == {ref("twitterdev"): uid}


def test_profiles_map_every_field(x: XSandbox, provider: XProvider) -> None:
    uid = x.add_user(
        "vdamme",
        "Jean  Claude Van Damme",
        description="Actor. ",
        location="Brussels, Belgium",
        url="https://jcvd.example/films",
        protected=True,
    )
    bare = x.add_user("cher", "Cher")
    gone = x.add_user("gone", "Gone", suspended=True)
    profiles = provider.fetch_profiles([AccountId(uid), AccountId(bare), AccountId(gone), AccountId("nope")])
    assert set(profiles) == {uid, bare}
    p = profiles[AccountId(uid)]
    assert p == Profile(
        network="x",
        account_id=AccountId(uid),
        first_name="Jean",
        last_name="Claude Van Damme",
        full_name="Jean  Claude Van Damme",
        city="Brussels, Belgium",
        country=None,
        website="https://jcvd.example/films",
        about="Actor.",
        photo_url=f"https://pbs.twimg.com/profile_images/{uid}/avatar_400x400.jpg",
        screen_name="vdamme",
        profile_url="https://x.com/vdamme",
        is_closed=True,
    )
    one = profiles[AccountId(bare)]
    assert (one.first_name, one.last_name, one.city, one.website) == ("Cher", None, None, None)
    assert one.about is None
    assert provider.stats == {"GET /2/users": 1}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ann", ("Ann", None)),
        ("Ann Lee", ("Ann", "Lee")),
        ("  Ann   de  la Cruz ", ("Ann", "de la Cruz")),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_name_split_rule(name: str | None, expected: tuple[str | None, str | None]) -> None:
    assert split_name(name) == expected


def test_send_creates_a_dm_and_never_a_tweet(x: XSandbox, provider: XProvider) -> None:
    uid = x.add_user("client", "Client")
    sent = provider.send_message(AccountId(uid), "Your order has shipped", "outbox-1")
    delivered = x.delivered_to(uid)
    assert [d["text"] for d in delivered] == ["Your order has shipped"]
    assert sent.message_id == delivered[0]["id"] and not sent.duplicate
    assert sent.sent_at == dt.datetime.fromtimestamp(EPOCH_START, dt.UTC)
    assert x.count("tweet_create") == 0 and x.tweets == []
    assert provider.stats == {"POST /2/dm_conversations/with/:participant_id/messages": 1}


def test_same_key_in_the_same_process_is_not_sent_again(x: XSandbox, provider: XProvider) -> None:
    uid = x.add_user("client", "Client")
    first = provider.send_message(AccountId(uid), "hi", "k1")
    again = provider.send_message(AccountId(uid), "hi", "k1")
    assert again.duplicate and again.message_id == first.message_id
    assert len(x.delivered_to(uid)) == 1
    assert x.count() == 1  # answered from memory: no request, no cost


def test_retry_after_a_crash_finds_the_delivered_dm(
    x: XSandbox, clock: FakeClock, provider: XProvider
) -> None:
    uid = x.add_user("client", "Client")
    x.incoming_dm(uid, "hi")  # other traffic in the conversation
    first_attempt = dt.datetime.fromtimestamp(clock(), dt.UTC)
    provider.send_message(AccountId(uid), "Invoice 42 is paid", "outbox-42")
    provider.close()
    clock.now += 3600
    with make_provider(x, clock) as restarted:  # the "crash": a new process knows nothing in memory
        assert restarted.find_delivered(AccountId(uid), "Invoice 42 is paid", first_attempt) is not None
        again = restarted.send_message(
            AccountId(uid), "Invoice 42 is paid", "outbox-42", not_before=first_attempt
        )
    assert again.duplicate
    assert [d["text"] for d in x.delivered_to(uid)] == ["Invoice 42 is paid"]


def test_retry_after_a_lost_answer_in_the_same_process(x: XSandbox, provider: XProvider) -> None:
    from providers.errors import ProviderUnavailable

    uid = x.add_user("client", "Client")
    x.fail_after_delivery()  # X stores the DM, but we only see a 503
    with pytest.raises(ProviderUnavailable):
        provider.send_message(AccountId(uid), "Meeting at 10", "k-lost")
    again = provider.send_message(AccountId(uid), "Meeting at 10", "k-lost")
    assert again.duplicate and again.message_id == x.delivered_to(uid)[0]["id"]
    assert len(x.delivered_to(uid)) == 1


def test_a_retry_that_finds_nothing_sends_once(x: XSandbox, clock: FakeClock, provider: XProvider) -> None:
    uid = x.add_user("client", "Client")
    x.faults.drop(operation="dm_create")  # the first attempt never reached X
    from providers.errors import ProviderUnavailable

    with pytest.raises(ProviderUnavailable):
        provider.send_message(AccountId(uid), "Hello", "k-drop")
    sent = provider.send_message(AccountId(uid), "Hello", "k-drop")
    assert not sent.duplicate and len(x.delivered_to(uid)) == 1


def test_same_text_under_two_keys_is_two_messages(x: XSandbox, clock: FakeClock, provider: XProvider) -> None:
    uid = x.add_user("client", "Client")
    start = dt.datetime.fromtimestamp(clock(), dt.UTC)
    provider.send_message(AccountId(uid), "Thanks!", "a")
    second = provider.send_message(AccountId(uid), "Thanks!", "b", not_before=start)
    assert not second.duplicate
    assert [d["text"] for d in x.delivered_to(uid)] == ["Thanks!", "Thanks!"]


def test_find_delivered_ignores_old_and_foreign_messages(
    x: XSandbox, clock: FakeClock, provider: XProvider
) -> None:
    uid = x.add_user("client", "Client")
    provider.send_message(AccountId(uid), "Same words", "old")
    clock.now += 86_400
    x.incoming_dm(uid, "Same words")  # their message, not ours
    since = dt.datetime.fromtimestamp(clock(), dt.UTC)
    assert provider.find_delivered(AccountId(uid), "Same words", since) is None
    with pytest.raises(ValueError, match="naive"):
        provider.find_delivered(AccountId(uid), "Same words", since.replace(tzinfo=None))
