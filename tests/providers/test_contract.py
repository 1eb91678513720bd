"""The shared provider contract, run against VK, X, Facebook, Telegram and MAX, each wired to its sandbox over
real HTTP.

One `Harness` per network hides the sandbox knobs (how a person writes to us, how a rate limit or a bad
token is produced); every test below states the promise of `providers.base.Provider` once and checks it
for all three networks alike.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from providers.base import AccountId, Direction, EventKind, LongPolling, ProfileRef, Provider
from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderDeliveryUnknown,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
)
from providers.facebook import FacebookProvider
from providers.max import MaxProvider
from providers.telegram import TelegramProvider
from providers.vk import VkProvider
from providers.x import XProvider
from sandbox._http import Response
from sandbox.facebook import FacebookSandbox
from sandbox.max import MaxSandbox
from sandbox.telegram import TelegramSandbox
from sandbox.vk import VkSandbox
from sandbox.x import XSandbox
from tests.fakes import FakeClock
from tests.x_support import EPOCH_START, make_provider

NETWORKS = ("vk", "x", "facebook", "telegram", "max")
BOTS = ("telegram", "max")


@dataclass
class Harness:
    """A provider plus the sandbox operations the contract needs, phrased the same for every network."""

    name: str
    provider: Any
    sandbox: Any
    clock: FakeClock
    refs: list[ProfileRef]
    foreign_url: str
    person: Callable[[str], AccountId]  # a person who wrote to us (so every network lets us answer)
    inbound: Callable[[AccountId, str], None]
    delivered: Callable[[AccountId], list[dict[str, Any]]]
    bad_token: Callable[[], Any]  # a provider whose credentials the sandbox refuses (closed by the test)
    unknown_account: AccountId
    rate_limit_next: Callable[[], None]  # the next call is refused with a "wait" hint
    can_start_conversation: bool
    start: Callable[[str], AccountId] | None = None  # bots: a person presses Start with a payload
    closers: list[Callable[[], None]] = field(default_factory=list)


def _vk() -> Iterator[Harness]:
    clock = FakeClock()
    with VkSandbox(clock=clock) as box:
        provider = VkProvider(
            box.community_token, group_id=box.group_id, api_url=box.url, clock=clock, sleep=clock.sleep
        )

        def person(name: str) -> AccountId:
            uid = box.add_user(name.title(), "Contract", screen_name=name)
            box.incoming(uid, f"hello from {name}")
            return AccountId(str(uid))

        def bad() -> VkProvider:
            return VkProvider(
                "vk1.a.not-a-real-token",
                group_id=box.group_id,
                api_url=box.url,
                clock=clock,
                sleep=clock.sleep,
            )

        # VK answers 6 ("too many requests per second") and the provider retries it 3 times inside
        # the call: four refusals in a row surface as ProviderRateLimited.
        yield Harness(
            "vk",
            provider,
            box,
            clock,
            refs=[ProfileRef("vk", "id", "1"), ProfileRef("vk", "screen_name", "durov_shop")],
            foreign_url="https://x.com/jack",
            person=person,
            inbound=lambda account, text: box.incoming(int(account), text) and None,
            delivered=lambda account: box.delivered_to(int(account)),
            bad_token=bad,
            unknown_account=AccountId("987654321"),
            rate_limit_next=lambda: box.fail_next(6, times=4),
            can_start_conversation=False,
        )
        provider.close()


def _x() -> Iterator[Harness]:
    clock = FakeClock(EPOCH_START)
    with XSandbox(clock=clock) as box:
        provider = make_provider(box, clock)

        def person(name: str) -> AccountId:
            uid = box.add_user(name, f"{name.title()} Contract")
            box.incoming_dm(uid, f"hello from {name}")
            clock.sleep(1)  # X stamps whole seconds; keep arrivals apart like real traffic
            return AccountId(uid)

        def inbound(account: AccountId, text: str) -> None:
            box.incoming_dm(account, text)

        def rate_limit_next() -> None:
            reset = int(clock() + 120)
            headers = {
                "x-rate-limit-limit": "300",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
                "Content-Type": "application/problem+json",
            }
            body = {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            }
            box.faults.custom(lambda _r: Response.json(body, 429, headers), times=1)

        yield Harness(
            "x",
            provider,
            box,
            clock,
            refs=[ProfileRef("x", "screen_name", "jack"), ProfileRef("x", "id", "2244994945")],
            foreign_url="https://vk.com/durov",
            person=person,
            inbound=inbound,
            delivered=lambda account: box.delivered_to(account),
            bad_token=lambda: XProvider(
                box.consumer_key,
                box.consumer_secret,
                box.access_token,
                "stale",
                api_url=box.url,
                clock=clock,
                sleep=clock.sleep,
                wall_clock=clock,
            ),
            unknown_account=AccountId("1999999999999"),
            rate_limit_next=rate_limit_next,
            can_start_conversation=True,
        )
        provider.close()


def _facebook() -> Iterator[Harness]:
    clock = FakeClock()
    with FacebookSandbox() as box:
        options: dict[str, Any] = {"api_url": box.url, "now": box.clock, "clock": clock, "sleep": clock.sleep}
        provider = FacebookProvider(box.page_token, box.page_id, **options)

        def person(name: str) -> AccountId:
            psid = box.add_person(name.title(), "Contract")
            box.incoming(psid, f"hello from {name}")
            box.advance(seconds=1)
            return AccountId(psid)

        def inbound(account: AccountId, text: str) -> None:
            box.incoming(account, text)

        yield Harness(
            "facebook",
            provider,
            box,
            clock,
            refs=[ProfileRef("facebook", "psid", "2400000000000042")],
            foreign_url="https://vk.com/durov",
            person=person,
            inbound=inbound,
            delivered=lambda account: box.delivered_to(account),
            bad_token=lambda: FacebookProvider("EAABnot-a-real-token", box.page_id, **options),
            unknown_account=AccountId("2400000000099999"),
            rate_limit_next=lambda: box.rate_limit(613),
            can_start_conversation=False,
        )
        provider.close()


def _telegram() -> Iterator[Harness]:
    clock = FakeClock()
    with TelegramSandbox(clock=clock) as box:
        options: dict[str, Any] = {"api_url": box.url, "clock": clock, "sleep": clock.sleep}
        provider = TelegramProvider(box.token, **options)

        def person(name: str) -> AccountId:
            uid = box.add_user(name.title(), "Contract", username=f"{name}_contract")
            box.incoming(uid, f"hello from {name}")
            return AccountId(str(uid))

        def start(payload: str) -> AccountId:
            uid = box.add_user("Starter", "Contract")
            box.press_start(uid, payload)
            return AccountId(str(uid))

        yield Harness(
            "telegram",
            provider,
            box,
            clock,
            refs=[ProfileRef("telegram", "screen_name", "ivan_petrov")],
            foreign_url="https://vk.com/durov",
            person=person,
            inbound=lambda account, text: box.incoming(int(account), text) and None,
            delivered=lambda account: box.delivered_to(int(account)),
            bad_token=lambda: TelegramProvider(box.token.split(":")[0] + ":" + "Z" * 35, **options),
            unknown_account=AccountId("987654321"),
            rate_limit_next=lambda: box.flood(7, method=None),
            can_start_conversation=False,
            start=start,
        )
        provider.close()


def _max() -> Iterator[Harness]:
    clock = FakeClock()
    with MaxSandbox(clock=clock) as box:
        options: dict[str, Any] = {"api_url": box.url, "clock": clock, "sleep": clock.sleep}
        provider = MaxProvider(box.token, **options)

        def person(name: str) -> AccountId:
            uid = box.add_user(name.title(), "Contract")
            box.incoming(uid, f"hello from {name}")
            # What the bridge keeps from the intake: which dialog is this person's.
            provider.remember_dialog(AccountId(str(uid)), box.world.users[uid].chat_id)
            return AccountId(str(uid))

        def start(payload: str) -> AccountId:
            uid = box.add_user("Starter", "Contract")
            box.press_start(uid, payload)
            return AccountId(str(uid))

        yield Harness(
            "max",
            provider,
            box,
            clock,
            refs=[ProfileRef("max", "link", "f9LHodD0cOK0hnwTQdNmyN3ezvS1b3v9hDMU4iAaLIQ")],
            foreign_url="https://t.me/durov",
            person=person,
            inbound=lambda account, text: box.incoming(int(account), text) and None,
            delivered=lambda account: box.delivered_to(int(account)),
            bad_token=lambda: MaxProvider("not-" + box.token, **options),
            unknown_account=AccountId("987654321"),
            rate_limit_next=lambda: box.fail_next(429, "too.many.requests"),
            can_start_conversation=False,
            start=start,
        )
        provider.close()


_FACTORIES = {"vk": _vk, "x": _x, "facebook": _facebook, "telegram": _telegram, "max": _max}


@pytest.fixture(params=NETWORKS)
def net(request: pytest.FixtureRequest) -> Iterator[Harness]:
    yield from _FACTORIES[request.param]()


def test_is_a_provider(net: Harness) -> None:
    assert isinstance(net.provider, Provider)
    assert net.provider.name == net.name


def test_capabilities_are_honest(net: Harness) -> None:
    caps = net.provider.capabilities
    assert caps.can_start_conversation is net.can_start_conversation
    # A network that cannot start a conversation says the client must write first (or the send is impossible).
    if not caps.can_start_conversation and caps.can_import_messages:
        assert caps.needs_prior_inbound is True
    assert caps.max_text_length is not None and caps.max_text_length > 0
    assert "first_name" in caps.profile_fields


def test_profile_url_round_trip(net: Harness) -> None:
    for ref in net.refs:
        url = net.provider.profile_url(ref)
        assert url.startswith("https://")
        assert net.provider.parse_profile_url(url) == ref


def test_another_networks_url_is_none(net: Harness) -> None:
    assert net.provider.parse_profile_url(net.foreign_url) is None
    assert net.sandbox.count() == 0  # parsing a link never costs a request


def test_bad_token_is_an_auth_error(net: Harness) -> None:
    bad = net.bad_token()
    try:
        with pytest.raises(ProviderAuthError):
            bad.send_message(net.person("victim"), "hello", "auth-key")
    finally:
        bad.close()


def test_unknown_account(net: Harness) -> None:
    """Sending to an unknown account is ProviderNotFound; profiles of unknown ids are left out."""
    with pytest.raises(ProviderNotFound):
        net.provider.send_message(net.unknown_account, "hello", "unknown-key")
    assert net.provider.fetch_profiles([net.unknown_account]) == {}


def test_rate_limit_is_mapped_with_retry_after(net: Harness) -> None:
    account = net.person("busy")
    net.rate_limit_next()
    with pytest.raises(ProviderRateLimited) as caught:
        net.provider.send_message(account, "hello", "rl-key")
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert caught.value.network == net.name


def _check_deferral(net: Harness) -> None:
    account = net.person("patient")
    net.rate_limit_next()
    with pytest.raises(ProviderRateLimited) as caught:
        net.provider.fetch_profiles([account])
    retry_after = caught.value.retry_after
    assert retry_after is not None
    refused_at, requests_before = net.clock(), net.sandbox.count()
    try:
        net.provider.fetch_profiles([account])
    except ProviderRateLimited:
        # Refused locally while the hint holds: no request went out.
        assert net.sandbox.count() == requests_before
        net.clock.sleep(retry_after)
        assert net.provider.fetch_profiles([account])
    else:
        # Waited out the hint on the injected clock before asking again.
        assert net.clock() - refused_at >= retry_after * 0.99


@pytest.mark.parametrize("network", NETWORKS)
def test_a_server_hint_defers_the_next_request(network: str) -> None:
    for net in _FACTORIES[network]():
        _check_deferral(net)


def test_same_idempotency_key_delivers_once(net: Harness) -> None:
    account = net.person("twice")
    first = net.provider.send_message(account, "Ваш заказ готов", "order-17")
    second = net.provider.send_message(account, "Ваш заказ готов", "order-17")
    assert second.message_id == first.message_id
    assert len(net.delivered(account)) == 1
    other = net.provider.send_message(account, "Ваш заказ готов", "order-18")  # a new key is a new message
    assert other.message_id != first.message_id and len(net.delivered(account)) == 2


def test_fetch_messages_cursor_never_skips_or_repeats(net: Harness) -> None:
    rng = random.Random(f"cursor-{net.name}")
    people = [net.person(f"writer{i}") for i in range(3)]
    seen: list[str] = []
    batch, cursor = net.provider.fetch_messages(None, 50)
    seen += [m.text for m in batch if m.direction is Direction.IN]
    expected = list(seen)
    for round_no in range(12):
        for n in range(rng.randint(0, 4)):
            text = f"r{round_no}-m{n}"
            net.inbound(rng.choice(people), text)
            expected.append(text)
            if net.name == "facebook" and rng.random() < 0.5:
                net.sandbox.advance(seconds=1)  # mix same-second and later arrivals
        for _ in range(rng.randint(0, 2)):  # sometimes no read at all: a backlog builds up
            batch, cursor = net.provider.fetch_messages(cursor, rng.randint(1, 3))
            assert [m.sent_at for m in batch] == sorted(m.sent_at for m in batch)  # oldest first
            seen += [m.text for m in batch if m.direction is Direction.IN]
    for _ in range(40):  # drain, bounded
        batch, cursor = net.provider.fetch_messages(cursor, 3)
        if not batch:
            break
        seen += [m.text for m in batch if m.direction is Direction.IN]
    assert len(expected) > 15  # the seeded rounds really produced traffic
    assert len(seen) == len(set(seen)), "a message was returned twice"
    assert sorted(seen) == sorted(expected), "a message was skipped"


def test_what_a_network_cannot_do_is_refused_without_a_request(net: Harness) -> None:
    """The capability flags are promises: no profile-link lookup, and no guess about an unknown send."""
    caps = net.provider.capabilities
    if not caps.resolves_profile_links:
        before = net.sandbox.count()
        screen_names = [ref for ref in net.refs if ref.kind != "id"]
        assert screen_names
        with pytest.raises(ProviderNotAllowed) as caught:
            net.provider.resolve(screen_names)
        assert caught.value.reason is NotAllowedReason.UNSUPPORTED_BY_NETWORK
        assert net.sandbox.count() == before
    if not caps.idempotent_sends:
        import datetime as dt

        with pytest.raises(ProviderDeliveryUnknown):
            net.provider.find_delivered(net.person("unsure"), "hello", dt.datetime.now(dt.UTC))


@pytest.mark.parametrize("network", BOTS)
def test_a_bot_learns_of_a_start_with_its_payload_and_the_offset_confirms_it(network: str) -> None:
    for net in _FACTORIES[network]():
        assert isinstance(net.provider, LongPolling) and net.start is not None
        offset = net.provider.poll_updates(None, 0).next_offset
        account = net.start("lead-7_x")
        result = net.provider.poll_updates(offset, 0)
        assert [(e.kind, e.account_id, e.payload) for e in result.events] == [
            (EventKind.STARTED, account, "lead-7_x")
        ]
        assert result.events[0].profile is not None and result.events[0].profile.first_name == "Starter"
        net.provider.send_message(account, "Добро пожаловать", "welcome")  # Start made them reachable
        assert len(net.delivered(account)) == 1
        assert net.provider.poll_updates(result.next_offset, 0).events == []
