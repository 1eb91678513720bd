"""VkProvider.poll_updates (providers/vk/longpoll.py) against the VK sandbox's Bots Long Poll server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from providers.base import Direction, LongPolling
from providers.errors import ProviderError, ProviderUnavailable
from providers.vk import VkProvider
from sandbox.vk import VkSandbox
from tests.contracts_vk_longpoll import validate_answer


@pytest.fixture
def vk() -> Iterator[VkSandbox]:
    with VkSandbox(rate_limit=None) as box:
        yield box
        for body in box.longpoll.answers:
            validate_answer(body)


@pytest.fixture
def provider(vk: VkSandbox) -> Iterator[VkProvider]:
    with VkProvider(vk.community_token, group_id=vk.group_id, api_url=vk.url) as p:
        yield p


def test_a_community_provider_long_polls_from_vks_ts(vk: VkSandbox, provider: VkProvider) -> None:
    assert isinstance(provider, LongPolling)
    uid = vk.add_user("Ivan", "Petrov")
    vk.incoming(uid, "before the stream: the scheduled import's")
    first = provider.poll_updates(None, 25)
    assert (first.messages, first.missed, first.next_offset) == ([], True, str(vk.world.longpoll.last_ts))
    assert vk.count("a_check") == 0  # the starting point is stored before anything is polled

    threading.Timer(0.3, lambda: vk.incoming(uid, "Здравствуйте")).start()
    started = time.monotonic()
    result = provider.poll_updates(first.next_offset, 25)
    assert time.monotonic() - started < 12  # answered by the message, not by the 25 s wait
    [message] = result.messages
    assert (message.text, message.direction, message.peer_id, result.missed) == (
        "Здравствуйте",
        Direction.IN,
        str(uid),
        False,
    )
    # the very NetworkMessage the scheduled import reads: the ledger sees one message, not two
    imported, _ = provider.fetch_messages(str(int(message.message_id) - 1), 20)
    assert imported == [message]
    assert provider.stats["groups.getLongPollServer"] == 1 and provider.stats["a_check"] == 1


def test_the_communitys_own_messages_come_as_outgoing_and_repeats_once(
    vk: VkSandbox, provider: VkProvider
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    offset = provider.poll_updates(None, 0).next_offset
    sent = provider.send_message(str(uid), "ответ из CRM", "key-1")  # type: ignore[arg-type]
    vk.outgoing_outside(uid, "written in VK's own UI")
    vk.longpoll.repeat()  # VK sends the last event again (same event_id)
    result = provider.poll_updates(offset, 0)
    assert [(m.text, m.direction) for m in result.messages] == [
        ("ответ из CRM", Direction.OUT),
        ("written in VK's own UI", Direction.OUT),
    ]
    assert result.messages[0].message_id == sent.message_id and result.messages[0].random_id is not None


def test_failed_2_gets_a_new_key_and_keeps_ts(vk: VkSandbox, provider: VkProvider) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    offset = provider.poll_updates(None, 0).next_offset
    vk.longpoll.expire_keys()
    written = vk.incoming(uid, "while the key expired")
    result = provider.poll_updates(offset, 0)
    assert [m.message_id for m in result.messages] == [str(written)] and not result.missed
    assert provider.stats["groups.getLongPollServer"] == 2


def test_failed_1_continues_from_vks_ts_and_says_messages_were_missed(
    vk: VkSandbox, provider: VkProvider, caplog: pytest.LogCaptureFixture
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    offset = provider.poll_updates(None, 0).next_offset
    [vk.incoming(uid, f"lost {n}") for n in range(3)]
    vk.longpoll.lose_history(keep=1)
    gap = provider.poll_updates(offset, 0)
    assert gap.messages == [] and gap.missed and gap.next_offset == str(vk.world.longpoll.last_ts - 1)
    kept = provider.poll_updates(gap.next_offset, 0)
    assert [m.text for m in kept.messages] == ["lost 2"] and not kept.missed
    assert any("failed 1" in r.getMessage() for r in caplog.records)


def test_failed_3_gets_a_new_key_and_ts_and_says_messages_were_missed(
    vk: VkSandbox, provider: VkProvider
) -> None:
    uid = vk.add_user("Ivan", "Petrov")
    offset = provider.poll_updates(None, 0).next_offset
    vk.incoming(uid, "lost in the restart")
    vk.longpoll.restart()
    after_restart = provider.poll_updates(offset, 0)
    assert after_restart.missed and after_restart.messages == []
    assert after_restart.next_offset == str(vk.world.longpoll.last_ts)
    written = vk.incoming(uid, "after the restart")
    result = provider.poll_updates(after_restart.next_offset, 0)
    assert [m.message_id for m in result.messages] == [str(written)]


def test_a_lost_connection_is_unavailable_and_the_next_poll_asks_for_a_server_again(
    vk: VkSandbox, provider: VkProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    offset = provider.poll_updates(None, 0).next_offset
    vk.faults.drop(operation="a_check")
    with pytest.raises(ProviderUnavailable) as caught:
        provider.poll_updates(offset, 0)
    key = next(iter(vk.world.longpoll.keys))
    assert key not in str(caught.value) and key not in caplog.text  # the key is a credential
    assert provider.poll_updates(offset, 0).messages == []
    assert provider.stats["groups.getLongPollServer"] == 2


def test_a_user_token_cannot_long_poll(vk: VkSandbox) -> None:
    with VkProvider(vk.user_token, token_type="user", api_url=vk.url) as user:
        with pytest.raises(ProviderError, match="community access key"):
            user.poll_updates(None, 25)
    # VK itself refuses a user token without the community's `manage` right (error 15)
    with VkProvider(vk.user_token, token_type="community", group_id=vk.group_id, api_url=vk.url) as wrong:
        with pytest.raises(ProviderError, match="error 15"):
            wrong.poll_updates(None, 25)


def test_a_switched_off_long_poll_says_how_to_switch_it_on(
    vk: VkSandbox, provider: VkProvider, caplog: pytest.LogCaptureFixture
) -> None:
    vk.world.longpoll.enabled = False
    with pytest.raises(ProviderError, match="Long Poll API is switched off") as caught:
        provider.poll_updates(None, 25)
    assert "intake: poll" in str(caught.value)
    vk.world.longpoll.enabled = True
    vk.world.longpoll.events_on.discard("message_reply")
    provider.poll_updates(None, 25)
    [line] = [r.getMessage() for r in caplog.records if "does not send" in r.getMessage()]
    assert "message_reply" in line and "message_new" not in line
