"""TelegramProvider over real HTTP against the Telegram sandbox: sends at most once, long polling, token
safety, limits and reachability settings."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Iterator

import pytest
import requests

from providers import PROVIDERS
from providers.base import AccountId, EventKind, LongPolling, ProfileRef
from providers.errors import (
    NotAllowedReason,
    ProviderConflict,
    ProviderDeliveryUnknown,
    ProviderError,
    ProviderNotAllowed,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.telegram import TelegramProvider
from sandbox._http import Request, Response, SandboxServer
from sandbox.telegram import TelegramSandbox
from tests.contracts_telegram import contract_violations
from tests.fakes import FakeClock


@pytest.fixture
def tg() -> Iterator[TelegramSandbox]:
    with TelegramSandbox() as box:
        yield box
        assert contract_violations(box.answers) == []


@pytest.fixture
def provider(tg: TelegramSandbox) -> Iterator[TelegramProvider]:
    with TelegramProvider(tg.token, api_url=tg.url, timeout=5) as p:
        yield p


def started(tg: TelegramSandbox) -> AccountId:
    uid = tg.add_user("Иван", "Петров", username="ivan_petrov")
    tg.press_start(uid)
    return AccountId(str(uid))


def test_it_is_a_long_polling_provider_that_states_its_limits(provider: TelegramProvider) -> None:
    caps = provider.capabilities
    assert isinstance(provider, LongPolling)
    assert (
        caps.can_start_conversation,
        caps.idempotent_sends,
        caps.resolves_profile_links,
        caps.reads_history,
    ) == (False, False, False, False)
    assert caps.max_text_length == 4096


def test_send_and_the_same_key_never_sends_again(tg: TelegramSandbox, provider: TelegramProvider) -> None:
    account = started(tg)
    first = provider.send_message(account, "Ваш заказ готов", "k1")
    again = provider.send_message(account, "Ваш заказ готов", "k1")
    assert again.message_id == first.message_id and again.duplicate
    assert len(tg.delivered_to(int(account))) == 1


def test_a_timeout_after_the_request_was_written_is_delivery_unknown_and_never_resent(
    tg: TelegramSandbox,
) -> None:
    account = started(tg)
    with TelegramProvider(tg.token, api_url=tg.url, timeout=0.5) as provider:
        tg.faults.slow(3, operation="sendMessage", after=True, times=1)  # delivered, the answer comes late
        with pytest.raises(ProviderDeliveryUnknown) as caught:
            provider.send_message(account, "Счёт во вложении", "k-late")
        assert not caught.value.transient
        assert len(tg.delivered_to(int(account))) == 1
        sends = tg.count("sendMessage")
        with pytest.raises(ProviderDeliveryUnknown):  # the same key again: no request at all
            provider.send_message(account, "Счёт во вложении", "k-late")
        with pytest.raises(ProviderDeliveryUnknown):  # nor a lookup that could pretend to know
            provider.find_delivered(account, "Счёт во вложении", tg_now())
        assert tg.count("sendMessage") == sends and len(tg.delivered_to(int(account))) == 1


def tg_now() -> object:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def test_a_dropped_connection_is_delivery_unknown(tg: TelegramSandbox, provider: TelegramProvider) -> None:
    account = started(tg)
    tg.faults.drop(operation="sendMessage")
    with pytest.raises(ProviderDeliveryUnknown):
        provider.send_message(account, "x", "k-drop")


def test_a_refused_connection_is_retryable_and_lookup_says_nothing_arrived() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens there
    with TelegramProvider("123456:" + "A" * 35, api_url=f"http://127.0.0.1:{port}", timeout=2) as provider:
        with pytest.raises(ProviderUnavailable) as caught:
            provider.send_message(AccountId("5550001"), "x", "k-refused")
        assert caught.value.transient and not isinstance(caught.value, ProviderDeliveryUnknown)
        assert provider.find_delivered(AccountId("5550001"), "x", tg_now()) is None  # type: ignore[arg-type]


def test_refusals_are_named(tg: TelegramSandbox, provider: TelegramProvider) -> None:
    uid = tg.add_user("Иван")
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.send_message(AccountId(str(uid)), "x", "k-1")
    assert caught.value.reason is NotAllowedReason.NOT_OPTED_IN
    tg.press_start(uid)
    tg.block(uid)
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.send_message(AccountId(str(uid)), "x", "k-2")
    assert caught.value.reason is NotAllowedReason.BLACKLISTED


def test_texts_over_4096_utf16_units_are_refused_with_a_reason_not_cut(
    tg: TelegramSandbox, provider: TelegramProvider
) -> None:
    account = started(tg)
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.send_message(account, "😀" * 2048 + "!", "k-long")
    assert caught.value.reason is NotAllowedReason.UNSUPPORTED_BY_NETWORK
    assert "4097" in str(caught.value) and "several messages" in str(caught.value)
    assert tg.count("sendMessage") == 0
    provider.send_message(account, "😀" * 2048, "k-fits")
    assert tg.delivered_to(int(account))[0]["text"] == "😀" * 2048


def test_429_defers_through_the_shared_rate_limiter(tg: TelegramSandbox) -> None:
    clock = FakeClock()
    account = started(tg)
    with TelegramProvider(tg.token, api_url=tg.url, clock=clock, sleep=clock.sleep) as provider:
        tg.flood(3)
        with pytest.raises(ProviderRateLimited) as caught:
            provider.send_message(account, "x", "k-flood")
        assert caught.value.retry_after == 3
        assert provider.rate_limiter.blocked_for() == pytest.approx(3)
        before = clock()
        provider.send_message(account, "x", "k-flood")  # clearly not delivered: the same key may go again
        assert clock() - before >= 3 * 0.99 and len(tg.delivered_to(int(account))) == 1
        tg.flood(30)
        with pytest.raises(ProviderRateLimited):
            provider.send_message(account, "y", "k-flood-2")
        requests_before = tg.count()
        with pytest.raises(ProviderRateLimited):  # a long hint is refused locally: no request
            provider.send_message(account, "y", "k-flood-2")
        assert tg.count() == requests_before


def test_the_token_never_reaches_errors_reprs_or_logs(
    tg: TelegramSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = tg.token.split(":")[1]
    bad = "123456:" + "B" * 35
    account = started(tg)
    failures: list[BaseException] = []
    with (
        TelegramProvider(bad, api_url=tg.url, timeout=0.5) as wrong,
        TelegramProvider(tg.token, api_url=tg.url, timeout=0.5) as right,
    ):
        for attempt in (lambda: wrong.send_message(account, "x", "a"), lambda: wrong.poll_updates(None, 0)):
            with pytest.raises(ProviderError) as caught:
                attempt()
            failures.append(caught.value)
        tg.faults.slow(3, operation="sendMessage", after=True, times=1)
        with pytest.raises(ProviderDeliveryUnknown) as unknown:
            right.send_message(account, "x", "b")
        failures.append(unknown.value)
        tg.faults.drop(operation="getChat")
        with pytest.raises(ProviderUnavailable) as dropped:
            right.fetch_profiles([account])
        failures.append(dropped.value)
        shown = [repr(wrong), repr(right), repr(right._http)]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # A refused connection: requests' own error text names the URL ("Max retries exceeded with url: ...").
    with TelegramProvider(tg.token, api_url=f"http://127.0.0.1:{port}", timeout=2) as nowhere:
        with pytest.raises(ProviderUnavailable) as refused:
            nowhere.send_message(account, "x", "c")
        failures.append(refused.value)
    for failure in failures:
        chain: list[BaseException] = []
        node: BaseException | None = failure
        while node is not None:
            chain.append(node)
            node = node.__cause__ or node.__context__
        shown += ["".join(traceback.format_exception(failure)), *[repr(e) for e in chain], *map(str, chain)]
    # The sandbox's own request log is the server's (Telegram knows its tokens): only the client side counts.
    client_logs = [r.getMessage() for r in caplog.records if not r.name.startswith("sandbox")]
    assert any("/bot***/" in line for line in client_logs)  # urllib3 did log request paths, masked
    shown += client_logs
    for text in shown:
        assert secret not in text and "B" * 35 not in text


def test_poll_updates_gives_start_payloads_messages_and_blocks_and_the_offset_confirms(
    tg: TelegramSandbox, provider: TelegramProvider
) -> None:
    uid = tg.add_user("Иван", "Петров", username="ivan_petrov")
    tg.press_start(uid, "lead-42_x")
    tg.incoming(uid, "Когда доставка?")
    tg.block(uid)
    result = provider.poll_updates(None, 0)
    assert [(e.kind, e.payload) for e in result.events] == [
        (EventKind.STARTED, "lead-42_x"),
        (EventKind.STOPPED, None),
    ]
    assert result.events[0].profile is not None and result.events[0].profile.screen_name == "ivan_petrov"
    assert [m.text for m in result.messages] == ["Когда доставка?"]  # /start is an event, not a message
    again = provider.poll_updates(None, 0)  # a crash before the offset was stored: the same updates again
    assert [m.message_id for m in again.messages] == [m.message_id for m in result.messages]
    assert provider.poll_updates(result.next_offset, 0).messages == []
    assert tg.pending() == []  # confirmed by the higher offset


def test_start_cursor_skips_the_backlog_without_dropping_the_queue(tg: TelegramSandbox) -> None:
    clock = [1_800_000_000.0]
    with TelegramSandbox(now=lambda: clock[0]) as box:
        uid = box.add_user("Иван")
        box.incoming(uid, "old")
        import datetime as dt

        with TelegramProvider(
            box.token, api_url=box.url, now=lambda: dt.datetime.fromtimestamp(clock[0] + 60, dt.UTC)
        ) as provider:
            cursor = provider.start_cursor(0)
            clock[0] += 120
            box.incoming(uid, "new")
            messages, _ = provider.fetch_messages(cursor, 10)
            assert [m.text for m in messages] == ["new"]


def test_webhook_conflict_is_reported_or_taken_over_and_a_second_poller_is_a_conflict(
    tg: TelegramSandbox,
) -> None:
    uid = tg.add_user("Иван")
    tg.incoming(uid, "kept")
    tg.set_webhook("https://other.example/hook")
    with TelegramProvider(tg.token, api_url=tg.url) as polite:
        with pytest.raises(ProviderConflict) as caught:
            polite.poll_updates(None, 0)
        assert caught.value.webhook and tg.count("deleteWebhook") == 0
    with TelegramProvider(tg.token, api_url=tg.url, take_over_webhook=True) as taker:
        assert [m.text for m in taker.poll_updates(None, 0).messages] == ["kept"]  # pending updates kept
    tg.faults.custom(
        lambda r: Response.json(
            {
                "ok": False,
                "error_code": 409,
                "description": (
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
                    "is running"
                ),
            },
            409,
        ),
        operation="getUpdates",
    )
    with TelegramProvider(tg.token, api_url=tg.url) as second:
        with pytest.raises(ProviderConflict) as other:
            second.poll_updates(None, 0)
        assert not other.value.webhook and not other.value.transient


def test_profiles_come_from_get_chat_without_a_file_url(
    tg: TelegramSandbox, provider: TelegramProvider
) -> None:
    uid = tg.add_user(
        "Иван",
        "Петров",
        username="Ivan_Petrov",
        bio="Оптовый покупатель",
        birthdate={"day": 3, "month": 7, "year": 1990},
    )
    profile = provider.fetch_profiles([AccountId(str(uid)), AccountId("42")])[AccountId(str(uid))]
    assert (profile.full_name, profile.screen_name, profile.about) == (
        "Иван Петров",
        "ivan_petrov",
        "Оптовый покупатель",
    )
    assert profile.birthday is not None and profile.birthday.year == 1990 and profile.photo_url is None
    assert tg.count("getFile") == 0


def test_a_username_cannot_be_resolved_and_the_invitation_link_is_the_way(provider: TelegramProvider) -> None:
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.resolve([ProfileRef("telegram", "screen_name", "ivan_petrov")])
    assert caught.value.reason is NotAllowedReason.UNSUPPORTED_BY_NETWORK
    assert provider.resolve([ProfileRef("telegram", "id", "5550001")]) == {
        ProfileRef("telegram", "id", "5550001"): "5550001"
    }
    assert provider.profile_url(ProfileRef("telegram", "id", "5550001")) == "tg://user?id=5550001"
    assert provider.invitation_link("lead-42") == "https://t.me/crm_bridge_bot?start=lead-42"
    with pytest.raises(ValueError):
        provider.invitation_link("has space")


class _ForwardProxy(SandboxServer):
    """A plain HTTP forward proxy on loopback: counts what it relays."""

    name = "proxy"

    def handle(self, request: Request) -> Response:
        target = request.raw_path  # absolute-form: the client addressed the proxy
        with requests.Session() as session:
            session.trust_env = False  # the test sets a dead proxy in the environment: not for the relay
            answer = session.request(
                request.method,
                target,
                data=request.body,
                timeout=30,
                headers={"Content-Type": request.headers.get("content-type", "")},
            )
        return Response(answer.status_code, answer.content, {"Content-Type": answer.headers["Content-Type"]})


def test_requests_go_through_the_configured_proxy(
    tg: TelegramSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = started(tg)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):  # the environment's proxy must not win
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with _ForwardProxy() as proxy, TelegramProvider(tg.token, api_url=tg.url, proxy_url=proxy.base_url) as p:
        p.send_message(account, "через прокси", "k-proxy")
        assert proxy.count() == 1 and tg.count("sendMessage") == 1


@pytest.mark.parametrize(
    "setting",
    [
        {"ca_bundle": False},
        {"ca_bundle": "/nonexistent.pem"},
        {"proxy_url": "proxy.local:3128"},
        {"token": "no-colon"},
    ],
)
def test_bad_settings_get_one_clear_line(setting: dict[str, object]) -> None:
    options: dict[str, object] = {"token": "123:abc", **setting}
    token = str(options.pop("token"))
    with pytest.raises(ValueError) as caught:
        TelegramProvider(token, **options)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value) and str(caught.value).startswith("telegram:")


def test_the_registry_builds_it_from_settings_at_the_configured_pace(tg: TelegramSandbox) -> None:
    built = PROVIDERS["telegram"].from_settings({"token": tg.token, "api_url": tg.url, "rate_limit": 5.0})
    assert isinstance(built, TelegramProvider)
    with built:
        assert (built.rate_limiter.rate, built.rate_limiter.burst) == (5.0, 1)
        account = started(tg)
        built.send_message(account, "из настроек", "k-settings")
        assert len(tg.delivered_to(int(account))) == 1
    with TelegramProvider.from_settings({"token": tg.token}) as default:  # Telegram's own address and pace
        assert default.rate_limiter.rate == 25.0 and "api.telegram.org" in repr(default)
