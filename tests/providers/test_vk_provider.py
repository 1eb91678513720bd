"""VkProvider over real HTTP against the VK sandbox: resolution, profiles, batching, idempotent sends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from providers.base import AccountId, Birthday, Profile, ProfileRef, Provider
from providers.errors import NotAllowedReason, ProviderKeyReused, ProviderNotAllowed
from providers.vk import VkProvider, random_id_for
from sandbox.vk import VkSandbox
from tests.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vk(clock: FakeClock) -> Iterator[VkSandbox]:
    with VkSandbox(clock=clock) as sandbox:
        yield sandbox


@pytest.fixture
def provider(vk: VkSandbox, clock: FakeClock) -> Iterator[VkProvider]:
    with VkProvider(
        vk.community_token, group_id=vk.group_id, api_url=vk.url, clock=clock, sleep=clock.sleep
    ) as p:
        yield p


def test_is_a_provider_with_honest_capabilities(
    provider: VkProvider, vk: VkSandbox, clock: FakeClock
) -> None:
    assert isinstance(provider, Provider)
    assert provider.name == "vk"
    assert provider.capabilities.can_start_conversation is False
    assert provider.capabilities.needs_prior_inbound is True
    assert "birthday" in provider.capabilities.profile_fields
    with VkProvider(vk.user_token, token_type="user", api_url=vk.url, clock=clock, sleep=clock.sleep) as user:
        assert user.capabilities.can_import_messages is False
        assert user.rate_limiter.rate == 3.0
    assert provider.rate_limiter.rate == 20.0


def test_urls_delegate_to_the_shared_parsers(provider: VkProvider) -> None:
    ref = provider.parse_profile_url("https://vk.com/idealist")
    assert ref == ProfileRef("vk", "screen_name", "idealist")
    assert provider.profile_url(ProfileRef("vk", "id", "1")) == "https://vk.com/id1"


def test_resolve_ids_free_names_batched_and_id_prefixed_names_kept(
    provider: VkProvider, vk: VkSandbox
) -> None:
    idealist = vk.add_user("Ideal", "List", screen_name="idealist")
    durov = vk.add_user("Pavel", "Durov", screen_name="Durov")
    vk.add_community("shopgroup")
    refs = [
        ProfileRef("vk", "id", "42"),
        ProfileRef("vk", "screen_name", "idealist"),
        ProfileRef("vk", "screen_name", "durov"),
        ProfileRef("vk", "screen_name", "shopgroup"),
        ProfileRef("vk", "screen_name", "ghost_name"),
        ProfileRef("x", "screen_name", "jack"),
    ]
    vk.reset_log()
    resolved = provider.resolve(refs)
    assert resolved == {refs[0]: "42", refs[1]: str(idealist), refs[2]: str(durov)}
    assert vk.count() == 1
    vk.reset_log()
    assert provider.resolve([ProfileRef("vk", "id", "7")]) == {ProfileRef("vk", "id", "7"): "7"}
    assert vk.count() == 0


def test_profile_mapping_every_field(provider: VkProvider, vk: VkSandbox) -> None:
    full = vk.add_user(
        "Анна",
        "Петрова",
        screen_name="anna_p",
        bdate="3.7.1991",
        city="Москва",
        country="Россия",
        mobile_phone="+7 916 000-00-00",
        home_phone="495 000",
        site="https://anna.example",
        about="Designer",
        photo_max_orig="https://pp.vk/a.jpg",
        photo_200="https://pp.vk/a200.jpg",
    )
    no_year = vk.add_user("Boris", "Bez", bdate="29.2", photo_200="https://pp.vk/b200.jpg")
    profiles = provider.fetch_profiles([AccountId(str(full)), AccountId(str(no_year)), AccountId("9999")])
    assert set(profiles) == {str(full), str(no_year)}
    assert profiles[AccountId(str(full))] == Profile(
        network="vk",
        account_id=AccountId(str(full)),
        first_name="Анна",
        last_name="Петрова",
        full_name="Анна Петрова",
        birthday=Birthday(3, 7, 1991),
        mobile_phone="+7 916 000-00-00",
        home_phone="495 000",
        city="Москва",
        country="Россия",
        website="https://anna.example",
        about="Designer",
        photo_url="https://pp.vk/a.jpg",
        screen_name="anna_p",
        profile_url="https://vk.com/anna_p",
    )
    boris = profiles[AccountId(str(no_year))]
    assert boris.birthday == Birthday(29, 2, None) and boris.birthday.as_date() is None
    assert boris.photo_url == "https://pp.vk/b200.jpg"
    assert boris.profile_url == f"https://vk.com/id{no_year}" and boris.city is None


def test_deleted_banned_and_private_profiles_invent_nothing(provider: VkProvider, vk: VkSandbox) -> None:
    deleted = vk.add_user("Del", "Eted", deactivated="deleted", bdate="1.1.1990")
    banned = vk.add_user("Ban", "Ned", deactivated="banned", city="Omsk")
    private = vk.add_user("Pri", "Vate", is_closed=True, bdate="1.1.1990", mobile_phone="+7")
    profiles = provider.fetch_profiles([AccountId(str(u)) for u in (deleted, banned, private)])
    gone = profiles[AccountId(str(deleted))]
    assert gone.deactivated == "deleted" and gone.first_name is None and gone.birthday is None
    assert profiles[AccountId(str(banned))].deactivated == "banned"
    assert profiles[AccountId(str(banned))].city is None
    closed = profiles[AccountId(str(private))]
    assert closed.is_closed is True and closed.first_name == "Pri"
    assert closed.birthday is None and closed.mobile_phone is None


def test_five_thousand_profiles_resolved_and_fetched_in_few_requests(
    provider: VkProvider, vk: VkSandbox
) -> None:
    ids = vk.add_users(5000, screen_prefix="bulk_")
    refs = [ProfileRef("vk", "screen_name", f"bulk_{n}") for n in range(5000)]
    vk.reset_log()
    resolved = provider.resolve(refs)
    profiles = provider.fetch_profiles(resolved.values())
    assert len(resolved) == 5000 and len(profiles) == 5000
    assert {int(a) for a in profiles} == set(ids)
    assert vk.count() <= 10
    assert vk.count() == 2 and provider.stats["execute"] == 2  # 5 users.get per execute, twice


def test_send_is_idempotent_per_key(provider: VkProvider, vk: VkSandbox) -> None:
    uid = vk.add_user("Client", "One")
    vk.incoming(uid, "Hello, do you ship to Kazan?")
    first = provider.send_message(AccountId(str(uid)), "Yes, we do.", "outbox-17")
    again = provider.send_message(AccountId(str(uid)), "Yes, we do.", "outbox-17")
    other = provider.send_message(AccountId(str(uid)), "Anything else?", "outbox-18")
    assert first.message_id == again.message_id != other.message_id
    ledger = vk.delivered_to(uid)
    assert [m["text"] for m in ledger] == ["Yes, we do.", "Anything else?"]
    assert ledger[0]["random_id"] == random_id_for("outbox-17")
    assert first.sent_at.tzinfo is not None


def test_a_key_vk_kept_for_another_person_is_caught_and_fresh_answers_cost_no_check(
    provider: VkProvider, vk: VkSandbox
) -> None:
    anna, boris = vk.add_user("Anna", "A"), vk.add_user("Boris", "B")
    vk.incoming(anna, "hi")
    vk.incoming(boris, "hi")
    vk.reset_log()
    provider.send_message(AccountId(str(anna)), "for Anna", "key-1")
    assert vk.count("messages.getById") == 1  # a new client has seen no message yet: it asks once
    provider.send_message(AccountId(str(boris)), "also for Boris", "key-2")
    assert vk.count("messages.getById") == 1  # newer than every message seen: VK made it now
    with pytest.raises(ProviderKeyReused) as caught:
        provider.send_message(AccountId(str(boris)), "for Boris", "key-1")
    assert [m["text"] for m in vk.delivered_to(boris)] == ["also for Boris"]
    assert caught.value.message_id == str(vk.delivered_to(anna)[0]["id"])
    # The same key and person again (a retry after a lost answer) is this send's own message.
    again = provider.send_message(AccountId(str(anna)), "for Anna", "key-1")
    assert again.message_id == caught.value.message_id and len(vk.delivered_to(anna)) == 1


def test_a_check_vk_refuses_leaves_the_answer_standing(provider: VkProvider, vk: VkSandbox) -> None:
    uid = vk.add_user("Check", "Refused")
    vk.incoming(uid, "hi")
    vk.fail_next(15, method="messages.getById")  # e.g. a token without access to the message
    sent = provider.send_message(AccountId(str(uid)), "still delivered", "key-refused")
    assert [m["id"] for m in vk.delivered_to(uid)] == [int(sent.message_id)]
    assert vk.count("messages.getById") == 1


def test_random_id_is_stable_nonzero_int32() -> None:
    keys = [f"k{n}" for n in range(2000)] + [""]
    values = [random_id_for(k) for k in keys]
    assert all(1 <= v <= 2**31 - 1 for v in values)
    assert values == [random_id_for(k) for k in keys]
    assert len(set(values)) == len(values)


def test_send_uses_form_post_bearer_token_and_explicit_version(provider: VkProvider, vk: VkSandbox) -> None:
    uid = vk.add_user("A", "B")
    provider.send_message(AccountId(str(uid)), "hi", "k")
    (request,) = [r for r in vk.requests if r.operation == "messages.send"]
    assert request.method == "POST" and request.operation == "messages.send"
    assert request.headers["authorization"] == f"Bearer {vk.community_token}"
    assert request.form["v"] == ["5.199"] and request.form["group_id"] == [str(vk.group_id)]
    assert request.form["peer_id"] == [str(uid)] and "access_token" not in request.form
    assert vk.community_token not in request.raw_path


def test_not_opted_in_person_is_refused_with_a_crm_message(provider: VkProvider, vk: VkSandbox) -> None:
    uid = vk.add_user("Never", "Wrote", allows_messages=False)
    with pytest.raises(ProviderNotAllowed) as caught:
        provider.send_message(AccountId(str(uid)), "hi", "k1")
    assert caught.value.reason is NotAllowedReason.NOT_OPTED_IN
    assert "until they write to it or allow messages" in str(caught.value)
    assert vk.delivered_to(uid) == []
    assert provider.messages_allowed([AccountId(str(uid))]) == {str(uid): False}
    vk.incoming(uid, "ok, write me")
    assert provider.messages_allowed([AccountId(str(uid))]) == {str(uid): True}
    assert provider.send_message(AccountId(str(uid)), "hi", "k1").message_id
