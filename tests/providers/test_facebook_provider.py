"""FacebookProvider against the Graph API sandbox over real HTTP: links, profiles, sending and errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.base import AccountId, Capabilities, ProfileRef, Provider
from providers.errors import (
    NotAllowedReason,
    ProviderAuthError,
    ProviderError,
    ProviderNotAllowed,
    ProviderNotFound,
    ProviderRateLimited,
    ProviderUnavailable,
)
from providers.facebook import FacebookProvider
from sandbox.facebook import FacebookSandbox
from tests.fakes import FakeClock


@pytest.fixture
def fb() -> Iterator[FacebookSandbox]:
    with FacebookSandbox() as sandbox:
        yield sandbox


def make(fb: FacebookSandbox, **kwargs: object) -> FacebookProvider:
    clock = FakeClock()
    options: dict[str, object] = {"api_url": fb.url, "now": fb.clock, "clock": clock, "sleep": clock.sleep}
    options.update(kwargs)
    token = str(options.pop("token", fb.page_token))
    return FacebookProvider(token, fb.page_id, **options)  # type: ignore[arg-type]


@pytest.fixture
def provider(fb: FacebookSandbox) -> Iterator[FacebookProvider]:
    p = make(fb)
    yield p
    p.close()


@pytest.fixture
def tagged(fb: FacebookSandbox) -> Iterator[FacebookProvider]:
    p = make(fb, use_human_agent_tag=True)
    yield p
    p.close()


def test_capabilities_are_honest(provider: FacebookProvider, tagged: FacebookProvider) -> None:
    assert isinstance(provider, Provider) and provider.name == "facebook"
    caps: Capabilities = provider.capabilities
    assert caps.can_start_conversation is False and caps.needs_prior_inbound is True
    assert caps.reply_window is not None and caps.reply_window.total_seconds() == 24 * 3600
    assert tagged.capabilities.reply_window is not None and tagged.capabilities.reply_window.days == 7
    assert caps.profile_fields <= {"first_name", "last_name", "full_name", "photo_url"}
    assert caps.max_text_length == 2000


def test_profile_link_cannot_be_resolved_and_says_what_to_do(
    fb: FacebookSandbox, provider: FacebookProvider
) -> None:
    for url in ("https://www.facebook.com/zuck", "https://www.facebook.com/profile.php?id=4"):
        ref = provider.parse_profile_url(url)
        assert ref is not None and ref.kind in ("screen_name", "id")
        with pytest.raises(ProviderNotAllowed) as caught:
            provider.resolve([ref])
        assert caught.value.reason is NotAllowedReason.UNSUPPORTED_BY_NETWORK
        assert "does not let a Page find a person by profile link" in caught.value.message
        assert "client must write to the Page first" in caught.value.message
    assert fb.count() == 0  # refused without asking Facebook


def test_psid_resolves_to_itself_without_a_request(fb: FacebookSandbox, provider: FacebookProvider) -> None:
    psid = fb.add_person("Ann", "Lee")
    ref = provider.parse_profile_url(f"https://www.facebook.com/app_scoped_user_id/{psid}/")
    assert ref == ProfileRef("facebook", "psid", psid)
    assert provider.parse_profile_url(provider.profile_url(ref)) == ref
    assert provider.resolve([ref, ProfileRef("vk", "id", "1")]) == {ref: psid}
    assert fb.count() == 0


def test_fetch_profiles_returns_names_and_photo_and_leaves_unknown_out(
    fb: FacebookSandbox, provider: FacebookProvider
) -> None:
    psid = fb.add_person("Анна", "Ли")
    profiles = provider.fetch_profiles([AccountId(psid), AccountId("999"), AccountId(psid)])
    assert list(profiles) == [psid]
    profile = profiles[AccountId(psid)]
    assert (profile.first_name, profile.last_name, profile.full_name) == ("Анна", "Ли", "Анна Ли")
    assert profile.photo_url and profile.photo_url.startswith("https://")
    assert profile.profile_url == f"https://www.facebook.com/app_scoped_user_id/{psid}/"
    assert profile.birthday is None and profile.email is None  # Facebook gives no more than this
    assert fb.count("object") == 2  # one request per distinct PSID


def test_send_inside_window_delivers_once_as_response(
    fb: FacebookSandbox, provider: FacebookProvider
) -> None:
    psid = fb.add_person("Ann", "Lee")
    fb.incoming(psid, "hello")
    fb.advance(hours=23)
    sent = provider.send_message(AccountId(psid), "Здравствуйте!", "key-1")
    again = provider.send_message(AccountId(psid), "Здравствуйте!", "key-1")
    assert again == sent
    ledger = fb.delivered_to(psid)
    assert [(d["message_id"], d["text"], d["messaging_type"], d["tag"]) for d in ledger] == [
        (sent.message_id, "Здравствуйте!", "RESPONSE", None)
    ]
    send = next(r for r in fb.requests if r.operation == "send")
    assert send.arg("access_token", source="form") == fb.page_token
    assert "access_token" not in send.query  # the token travels in the POST body, not the URL
    assert provider.stats["sent"] == 1


def test_window_closed_after_25_hours_from_the_server(
    fb: FacebookSandbox, provider: FacebookProvider
) -> None:
    psid = fb.add_person("Ann", "Lee")
    fb.incoming(psid, "hello")
    fb.advance(hours=25)
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.send_message(AccountId(psid), "late", "key-1")
    assert caught.value.reason is NotAllowedReason.WINDOW_CLOSED
    assert "24 hours" in caught.value.message
    assert fb.delivered_to(psid) == []
    # A refusal is final for that key: a new inbound message opens the window for a new send.
    fb.incoming(psid, "are you there?")
    assert (
        provider.send_message(AccountId(psid), "yes", "key-2").message_id
        == fb.delivered_to(psid)[0]["message_id"]
    )


def test_window_checked_locally_when_the_last_inbound_is_known(
    fb: FacebookSandbox, provider: FacebookProvider
) -> None:
    psid = fb.add_person("Ann", "Lee")
    fb.incoming(psid, "hello")
    provider.fetch_messages(None, 10)  # learns the person's last message time
    fb.advance(hours=25)
    before = fb.count("send")
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.send_message(AccountId(psid), "late", "key-1")
    assert caught.value.reason is NotAllowedReason.WINDOW_CLOSED
    assert fb.count("send") == before  # refused without a request


def test_human_agent_tag_extends_to_seven_days(fb: FacebookSandbox, tagged: FacebookProvider) -> None:
    known, unknown = fb.add_person("Ann", "Lee"), fb.add_person("Bob", "Ray")
    fb.incoming(known, "hi")
    fb.incoming(unknown, "hi")
    tagged.note_inbound(known, fb.clock())
    fb.advance(hours=1)
    tagged.send_message(AccountId(known), "fresh", "k0")
    fb.advance(days=6)
    tagged.send_message(AccountId(known), "six days later", "k1")  # local knowledge: tag straight away
    tagged.send_message(AccountId(unknown), "six days later", "k2")  # server refuses RESPONSE, tag retried
    assert [(d["messaging_type"], d["tag"]) for d in fb.delivered_to(known)] == [
        ("RESPONSE", None),
        ("MESSAGE_TAG", "HUMAN_AGENT"),
    ]
    assert [(d["messaging_type"], d["tag"]) for d in fb.delivered_to(unknown)] == [
        ("MESSAGE_TAG", "HUMAN_AGENT")
    ]
    fb.advance(days=1, hours=1)
    for psid, key in ((known, "k3"), (unknown, "k4")):
        with pytest.raises(ProviderNotAllowed) as caught:
            tagged.send_message(AccountId(psid), "too late", key)
        assert caught.value.reason is NotAllowedReason.WINDOW_CLOSED
    assert len(fb.delivered_to(known)) == 2 and len(fb.delivered_to(unknown)) == 1


def test_unknown_psid_is_not_found(fb: FacebookSandbox, provider: FacebookProvider) -> None:
    with pytest.raises(ProviderNotFound) as caught:
        provider.send_message(AccountId("2400000000099999"), "hi", "k")
    assert caught.value.code == 100


def test_person_who_blocked_the_page_is_not_reachable(
    fb: FacebookSandbox, provider: FacebookProvider
) -> None:
    psid = fb.add_person("Ann", "Lee")
    fb.incoming(psid, "hi")
    fb.make_unavailable(psid)
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.send_message(AccountId(psid), "hi", "k")
    assert caught.value.reason is NotAllowedReason.NO_CONVERSATION and caught.value.code == 551


def test_bad_token_is_an_auth_error_that_never_shows_the_token(fb: FacebookSandbox) -> None:
    bad = make(fb, token="EAABsecret-token-value-123")
    try:
        with pytest.raises(ProviderAuthError) as caught:
            bad.fetch_profiles([AccountId("1")])
        assert caught.value.code == 190
        assert "secret-token-value" not in str(caught.value)
    finally:
        bad.close()


@pytest.mark.parametrize("code", [4, 17, 32, 613])
def test_rate_limit_codes_raise_rate_limited_and_defer_the_next_call(fb: FacebookSandbox, code: int) -> None:
    clock = FakeClock()
    p = make(fb, clock=clock, sleep=clock.sleep)
    try:
        psid = fb.add_person("Ann", "Lee")
        fb.rate_limit(code)
        with pytest.raises(ProviderRateLimited) as caught:
            p.fetch_profiles([AccountId(psid)])
        assert caught.value.code == code and caught.value.retry_after == 300.0  # 5 minutes from the header
        assert p.fetch_profiles([AccountId(psid)])  # the next call waits out the hint, then succeeds
        assert sum(clock.slept) == pytest.approx(300.0)
    finally:
        p.close()


def test_server_errors_and_dropped_connections_are_unavailable(
    fb: FacebookSandbox, provider: FacebookProvider
) -> None:
    psid = fb.add_person("Ann", "Lee")
    fb.faults.http_error(502)
    with pytest.raises(ProviderUnavailable):
        provider.fetch_profiles([AccountId(psid)])
    fb.faults.drop()
    with pytest.raises(ProviderUnavailable) as caught:
        provider.fetch_profiles([AccountId(psid)])
    assert fb.page_token not in str(caught.value) and caught.value.__cause__ is None
    fb.faults.html()
    with pytest.raises(ProviderUnavailable):
        provider.fetch_profiles([AccountId(psid)])


def test_appsecret_proof_is_sent_when_configured() -> None:
    with FacebookSandbox(app_secret="app-secret") as fb:
        psid = fb.add_person("Ann", "Lee")
        good, missing = make(fb, app_secret="app-secret"), make(fb)
        try:
            assert good.fetch_profiles([AccountId(psid)])
            with pytest.raises(ProviderError) as caught:
                missing.fetch_profiles([AccountId(psid)])
            assert "appsecret_proof" in str(caught.value)
        finally:
            good.close()
            missing.close()


def test_too_long_text_is_refused_without_a_request(fb: FacebookSandbox, provider: FacebookProvider) -> None:
    psid = fb.add_person("Ann", "Lee")
    fb.incoming(psid, "hi")
    with pytest.raises(ProviderError):
        provider.send_message(AccountId(psid), "x" * 2001, "k")
    assert fb.count("send") == 0
