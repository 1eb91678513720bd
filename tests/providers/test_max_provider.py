"""MaxProvider over real HTTP(S) against the MAX sandbox: sends checked in the dialog before any resend,
split texts, markers, the CA bundle setting with a private CA, 429 through the shared rate limiter."""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Iterator

import pytest
import trustme

from providers import PROVIDERS
from providers.base import AccountId, EventKind, LongPolling, ProfileRef
from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderConflict,
    ProviderDeliveryUnknown,
    ProviderNotAllowed,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.max import MaxProvider
from sandbox.max import MaxSandbox
from tests.contracts_max import contract_violations
from tests.fakes import FakeClock


@pytest.fixture
def mx() -> Iterator[MaxSandbox]:
    with MaxSandbox() as box:
        yield box
        assert contract_violations(box.answers) == []


@pytest.fixture
def provider(mx: MaxSandbox) -> Iterator[MaxProvider]:
    with MaxProvider(mx.token, api_url=mx.url, timeout=5) as p:
        yield p


def started(mx: MaxSandbox, provider: MaxProvider) -> AccountId:
    """A client who pressed Start, seen by the provider's poll (so it knows their dialog)."""
    uid = mx.add_user("Иван", "Петров")
    mx.press_start(uid)
    provider.poll_updates(None, 0)
    return AccountId(str(uid))


def texts(mx: MaxSandbox, account: AccountId) -> list[str]:
    return [m["body"]["text"] for m in mx.delivered_to(int(account))]


def test_it_states_its_limits(provider: MaxProvider) -> None:
    caps = provider.capabilities
    assert isinstance(provider, LongPolling)
    assert (
        caps.can_start_conversation,
        caps.idempotent_sends,
        caps.resolves_profile_links,
        caps.reads_history,
    ) == (False, True, False, False)


def test_an_unanswered_send_is_looked_for_in_the_dialog_before_any_resend(mx: MaxSandbox) -> None:
    with MaxProvider(mx.token, api_url=mx.url, timeout=0.5) as provider:
        account = started(mx, provider)
        mx.faults.slow(3, operation="POST /messages", after=True, times=1)  # delivered, answer late
        with pytest.raises(ProviderUnavailable) as caught:
            provider.send_message(account, "Счёт готов", "k1")
        assert caught.value.transient
        sent = provider.send_message(account, "Счёт готов", "k1")
        assert sent.duplicate and texts(mx, account) == ["Счёт готов"]
        assert mx.count("GET /messages") == 1 and mx.count("POST /messages") == 1
        # The same text under another key is a new message, and the found one is not claimed twice.
        assert provider.send_message(account, "Счёт готов", "k2").message_id != sent.message_id
        assert texts(mx, account) == ["Счёт готов", "Счёт готов"]


def test_an_unanswered_send_that_did_not_arrive_is_sent_again(mx: MaxSandbox, provider: MaxProvider) -> None:
    account = started(mx, provider)
    mx.faults.drop(operation="POST /messages")  # dropped before the sandbox did anything
    with pytest.raises(ProviderUnavailable):
        provider.send_message(account, "Добрый день", "k1")
    assert texts(mx, account) == []
    assert not provider.send_message(account, "Добрый день", "k1").duplicate
    assert texts(mx, account) == ["Добрый день"] and mx.count("GET /messages") == 1


def test_a_restarted_bridge_finds_its_message_through_a_remembered_dialog(
    mx: MaxSandbox, provider: MaxProvider
) -> None:
    account = started(mx, provider)
    attempt = dt.datetime.now(dt.UTC)
    first = provider.send_message(account, "Заказ отправлен", "k1")
    with MaxProvider(mx.token, api_url=mx.url) as restarted:
        with pytest.raises(ProviderDeliveryUnknown):  # it cannot look before it knows the dialog
            restarted.find_delivered(account, "Заказ отправлен", attempt)
        dialog = provider.dialog_of(account)
        assert dialog is not None
        restarted.remember_dialog(account, dialog)
        found = restarted.find_delivered(account, "Заказ отправлен", attempt)
        assert found is not None and found.message_id == first.message_id and found.duplicate
        assert restarted.find_delivered(account, "Другой текст", attempt) is None


def test_long_texts_are_split_at_boundaries_and_a_failed_part_resumes_without_repeats(
    mx: MaxSandbox, provider: MaxProvider
) -> None:
    account = started(mx, provider)
    paragraphs = [f"Абзац {n}. " + "слово " * 500 for n in range(3)]  # ~3000 units each
    text = "\n\n".join(paragraphs)
    mx.fail_next(503, "service.unavailable", operation="POST /messages", times=1)
    with pytest.raises(ProviderUnavailable):
        provider.send_message(account, text, "k-long")
    assert texts(mx, account) == []
    provider.send_message(account, text, "k-long")
    parts = texts(mx, account)
    assert len(parts) == 3 and all(len(p) <= 4000 for p in parts)
    assert [p.strip() for p in parts] == [p.strip() for p in paragraphs]  # cut between paragraphs
    assert provider.send_message(account, text, "k-long").duplicate and len(texts(mx, account)) == 3


def test_a_part_lost_mid_way_is_checked_and_the_rest_follows(mx: MaxSandbox) -> None:
    with MaxProvider(mx.token, api_url=mx.url, timeout=0.5) as provider:
        account = started(mx, provider)
        text = "\n\n".join(["а" * 3500, "б" * 3500, "в" * 3500])
        mx.faults.slow(3, operation="POST /messages", after=True, times=1)
        with pytest.raises(ProviderUnavailable):
            provider.send_message(account, text, "k")  # part 1 arrived, its answer did not
        assert texts(mx, account) == ["а" * 3500]
        provider.send_message(account, text, "k")
        assert texts(mx, account) == ["а" * 3500, "б" * 3500, "в" * 3500]


def test_too_long_and_empty_texts_are_refused_with_a_reason(mx: MaxSandbox, provider: MaxProvider) -> None:
    account = started(mx, provider)
    for text in ("   ", "я " * 25_000):
        with pytest.raises(ProviderNotAllowed) as caught:
            provider.send_message(account, text, "k")
        assert caught.value.reason is NotAllowedReason.UNSUPPORTED_BY_NETWORK
    assert mx.count("POST /messages") == 0


def test_chat_denied_before_start_and_after_stop(mx: MaxSandbox, provider: MaxProvider) -> None:
    uid = mx.add_user("Иван")
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.send_message(AccountId(str(uid)), "x", "k1")
    assert caught.value.reason is NotAllowedReason.NOT_OPTED_IN and caught.value.code == "chat.denied"
    mx.press_start(uid)
    provider.send_message(AccountId(str(uid)), "x", "k2")
    mx.stop_bot(uid)
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.send_message(AccountId(str(uid)), "x", "k3")
    assert caught.value.reason is NotAllowedReason.BLACKLISTED


def test_429_backs_off_through_the_shared_rate_limiter(mx: MaxSandbox) -> None:
    clock = FakeClock()
    with MaxProvider(mx.token, api_url=mx.url, clock=clock, sleep=clock.sleep) as provider:
        account = started(mx, provider)
        mx.fail_next(429, "too.many.requests", operation="POST /messages", times=2)
        with pytest.raises(ProviderRateLimited) as first:
            provider.send_message(account, "x", "k")
        assert first.value.retry_after == 5.0
        before = clock()
        with pytest.raises(ProviderRateLimited) as second:
            provider.send_message(account, "x", "k")
        assert clock() - before >= 5 * 0.99 and second.value.retry_after == 10.0  # doubled
        with pytest.raises(ProviderRateLimited):  # 10 s > the inline wait: refused without a request
            provider.send_message(account, "x", "k")
        clock.sleep(10)
        provider.send_message(account, "x", "k")
        assert texts(mx, account) == ["x"]


def test_poll_updates_gives_starts_with_payload_messages_and_stops(
    mx: MaxSandbox, provider: MaxProvider
) -> None:
    offset = provider.poll_updates(None, 0).next_offset  # the first run: no marker yet
    uid = mx.add_user("Иван", "Петров")
    mx.press_start(uid, "lead-42")
    mx.incoming(uid, "Когда доставка?")
    mx.stop_bot(uid, remove_dialog=True)
    result = provider.poll_updates(offset, 0)
    assert [(e.kind, e.payload) for e in result.events] == [
        (EventKind.STARTED, "lead-42"),
        (EventKind.STOPPED, None),
        (EventKind.STOPPED, None),
    ]
    assert [m.text for m in result.messages] == ["Когда доставка?"]
    again = provider.poll_updates(offset, 0)  # not committed until the new marker is used
    assert [m.message_id for m in again.messages] == [m.message_id for m in result.messages]
    assert provider.poll_updates(result.next_offset, 0).messages == [] and mx.pending() == []
    assert provider.dialog_of(AccountId(str(uid))) == mx.world.users[uid].chat_id


def test_a_webhook_subscription_is_reported_or_taken_over(mx: MaxSandbox) -> None:
    mx.subscribe("https://other.example/max")
    with MaxProvider(mx.token, api_url=mx.url) as polite:
        with pytest.raises(ProviderConflict) as caught:
            polite.poll_updates(None, 0)
        assert caught.value.webhook and mx.count("DELETE /subscriptions") == 0
    with MaxProvider(mx.token, api_url=mx.url, take_over_webhook=True) as taker:
        taker.poll_updates(None, 0)
        taker.poll_updates(None, 0)
        assert mx.count("DELETE /subscriptions") == 1
        assert mx.count("GET /subscriptions") == 2  # once per provider: the polite one's, then the taker's


def test_profiles_from_the_dialog(mx: MaxSandbox, provider: MaxProvider) -> None:
    uid = mx.add_user("Иван", "Петров", description="Оптовый покупатель")
    mx.press_start(uid)
    assert provider.fetch_profiles([AccountId(str(uid))]) == {}  # never seen: nothing to ask about
    provider.poll_updates(None, 0)
    profile = provider.fetch_profiles([AccountId(str(uid))])[AccountId(str(uid))]
    assert (profile.full_name, profile.about) == ("Иван Петров", "Оптовый покупатель")
    assert mx.count("GET /chats/{chatId}") == 1


def test_links_and_invitations(provider: MaxProvider) -> None:
    ref = provider.parse_profile_url("https://max.ru/u/f9LHodD0cOK0hnwTQdNmyN3ezvS1b3v9hDMU4iAaLIQ")
    assert ref == ProfileRef("max", "link", "f9LHodD0cOK0hnwTQdNmyN3ezvS1b3v9hDMU4iAaLIQ")
    with pytest.raises(ProviderNotAllowed):
        provider.resolve([ref])
    with pytest.raises(ValueError):
        provider.parse_profile_url("https://max.ru/some_shop_bot")
    assert provider.invitation_link("lead-42") == "https://max.ru/crm_bridge_bot?start=lead-42"


@pytest.fixture(scope="module")
def private_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_box(private_ca: trustme.CA) -> Iterator[MaxSandbox]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    private_ca.issue_cert("127.0.0.1").configure_cert(context)
    with MaxSandbox(tls=context) as box:
        yield box


def test_a_private_root_needs_the_ca_bundle_setting(tls_box: MaxSandbox, private_ca: trustme.CA) -> None:
    with MaxProvider(tls_box.token, api_url=tls_box.url) as default:
        with pytest.raises(ProviderUnavailable) as caught:
            default.bot_identity()
        assert "ca_bundle" in str(caught.value) and "Russian Trusted Root CA" in str(caught.value)
        assert not isinstance(caught.value, ProviderDeliveryUnknown)
    with (
        private_ca.cert_pem.tempfile() as bundle,
        MaxProvider(tls_box.token, api_url=tls_box.url, ca_bundle=bundle) as trusting,
    ):
        assert trusting.bot_identity()[1] == "crm_bridge_bot"
    with (
        trustme.CA().cert_pem.tempfile() as other,
        MaxProvider(tls_box.token, api_url=tls_box.url, ca_bundle=other) as wrong,
    ):
        with pytest.raises(ProviderUnavailable):
            wrong.bot_identity()


@pytest.mark.parametrize("bundle", [False, "", "/nonexistent/russian_trusted_root_ca.pem", __file__])
def test_a_ca_bundle_that_is_not_a_pem_file_is_one_clear_line(bundle: object) -> None:
    with pytest.raises(ValueError) as caught:
        MaxProvider("token", ca_bundle=bundle)  # type: ignore[arg-type]
    assert str(caught.value).startswith("max:") and "\n" not in str(caught.value)


def test_a_bad_token_and_the_token_kept_out_of_errors(mx: MaxSandbox) -> None:
    with MaxProvider("wrong-" + mx.token, api_url=mx.url) as wrong:
        with pytest.raises(ProviderAuthError) as caught:
            wrong.send_message(AccountId("1"), "x", "k")
    assert mx.token not in str(caught.value) and mx.token not in repr(wrong)
    assert all("access_token" not in r.raw_path for r in mx.requests)  # the header, never the query


def test_the_registry_builds_it_from_settings_at_the_configured_pace(mx: MaxSandbox) -> None:
    built = PROVIDERS["max"].from_settings({"token": mx.token, "api_url": mx.url, "rate_limit": 5.0})
    assert isinstance(built, MaxProvider)
    with built:
        assert (built.rate_limiter.rate, built.rate_limiter.burst) == (5.0, 1)
        account = started(mx, built)
        built.send_message(account, "из настроек", "k-settings")
        assert texts(mx, account) == ["из настроек"]
    with MaxProvider.from_settings({"token": mx.token}) as default:  # MAX's own address and pace
        assert default.rate_limiter.rate == 25.0 and "platform-api2.max.ru" in repr(default)
