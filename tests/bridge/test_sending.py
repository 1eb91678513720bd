"""Sending over real HTTP: durable outbox, one CRM record per send, exactly-once across crashes."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from bridge.services.sending import Sender, SendRefused, SendRequest
from bridge.store import Store
from tests.bridge.conftest import World


class Crash(BaseException):
    """Stands for the process dying at this line (BaseException: no `except Exception` swallows it)."""


def crash_after(obj: Any, name: str) -> None:
    """Make `obj.name` do its work and then 'kill the process'."""
    original: Callable[..., Any] = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise Crash(name)

    setattr(obj, name, wrapper)


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


def vk_and_x_client(world: World, *, x_accepts: bool = True) -> tuple[str, int, str]:
    uid = world.vk_box.add_user("Ivan", "Petrov", screen_name="ivan_send")
    xid = world.x_box.add_user("ivan_x", "Ivan Petrov", accepts_dms=x_accepts)
    record = world.contact(
        "Petrov", vk_url="https://vk.com/ivan_send", tw_url="https://x.com/ivan_x", assigned_user_id="19x1"
    )
    return record, uid, xid


def test_vk_and_x_with_x_refusing_gives_one_record_two_statuses_and_a_comment(world: World) -> None:
    record, uid, xid = vk_and_x_client(world, x_accepts=False)
    sender = world.sender()
    sender.enqueue(SendRequest(record, "Здравствуйте! Ваш заказ готов."))
    assert sender.process_due() == 1

    assert len(world.vk_box.delivered_to(uid)) == 1
    assert world.x_box.delivered_to(xid) == []
    assert world.x_box.tweets == []  # never a public tweet
    messages = world.messages()
    assert len(messages) == 1
    msg = messages[0]
    assert msg["type"] == "Outbound"
    assert msg["vk_status"] == "Sent" and msg["vk_message_id"] == str(world.vk_box.delivered_to(uid)[0]["id"])
    assert msg["tw_status"] == "Not sent"
    assert msg["message_datetime"][:2] == "20" and len(msg["message_datetime"]) == 19
    assert record in world.crm_box.related(msg["id"])
    comments = [c for c in world.crm_box.records("ModComments") if c["related_to"] == record]
    assert len(comments) == 1
    assert "X (Twitter)" in comments[0]["commentcontent"]
    assert world.store.outbox.depth() == 0


def test_record_without_links_is_refused_naming_record_and_fields(world: World) -> None:
    record = world.contact("Nolinks")
    with pytest.raises(SendRefused) as err:
        world.sender().enqueue(SendRequest(record, "hello"))
    assert record in str(err.value) and "vk_url" in str(err.value) and "tw_url" in str(err.value)
    assert world.store.outbox.depth() == 0


def test_empty_text_is_refused(world: World) -> None:
    record, _, _ = vk_and_x_client(world)
    with pytest.raises(SendRefused):
        world.sender().enqueue(SendRequest(record, "   "))
    assert world.store.outbox.depth() == 0


def test_facebook_profile_link_is_refused_with_the_reason_recorded(world: World) -> None:
    record = world.contact("Fb", fb_url="https://www.facebook.com/some.person")
    sender = world.sender()
    sender.enqueue(SendRequest(record, "hi", networks=("facebook",)))
    sender.process_due()
    messages = world.messages()
    assert len(messages) == 1
    comments = [c for c in world.crm_box.records("ModComments") if c["related_to"] == record]
    assert "write to the Page first" in comments[0]["commentcontent"]


def test_transient_failure_is_retried_later_and_delivered_once(world: World) -> None:
    record, uid, _ = vk_and_x_client(world)
    clock = Clock()
    sender = world.sender(now=clock)
    world.vk_box.fail_next(10, method="messages.send", times=5)  # VK internal error, beyond in-call retries
    sender.enqueue(SendRequest(record, "retry me", networks=("vk",)))
    assert sender.process_due() == 0
    assert world.messages() == []
    clock.now += dt.timedelta(hours=2)
    assert sender.process_due() == 1
    assert len(world.vk_box.delivered_to(uid)) == 1
    assert world.messages()[0]["vk_status"] == "Sent"


def restart(world: World, clock: Clock) -> Sender:
    """A new process: a fresh Store on the same file, leases of the dead one expired."""
    for obj in (world.vk, world.x, world.fb, world.crm, world.store):
        for name in ("send_message", "create_message"):
            vars(obj).pop(name, None)  # the dead process's crash hooks die with it
    world.store.close()
    world.store = Store(world.store.path)
    clock.now += dt.timedelta(minutes=10)
    return world.sender(now=clock)


@pytest.mark.parametrize(
    "crash_point",
    [
        "mark_target_sending",
        "mark_target_sent",
        "set_send_crm_message_id",
        "mark_send_linked",
        "mark_send_done",
    ],
)
def test_crash_at_each_step_then_restart_gives_one_delivery_and_one_record(
    world: World, crash_point: str
) -> None:
    record, uid, xid = vk_and_x_client(world)
    clock = Clock()
    sender = world.sender(now=clock)
    sender.enqueue(SendRequest(record, "exactly once"))
    crash_after(world.store.outbox, crash_point)
    with pytest.raises(Crash):
        sender.process_due()

    sender = restart(world, clock)
    sender.process_due()

    assert len(world.vk_box.delivered_to(uid)) == 1
    assert len(world.x_box.delivered_to(xid)) == 1
    messages = world.messages()
    assert len(messages) == 1
    assert messages[0]["vk_status"] == "Sent" and messages[0]["tw_status"] == "Sent"
    assert record in world.crm_box.related(messages[0]["id"])
    assert world.store.outbox.depth() == 0


def test_crash_between_provider_send_and_store_write(world: World) -> None:
    record, uid, xid = vk_and_x_client(world)
    clock = Clock()
    sender = world.sender(now=clock)
    sender.enqueue(SendRequest(record, "sent but not written down"))
    crash_after(world.vk, "send_message")
    with pytest.raises(Crash):
        sender.process_due()
    assert len(world.vk_box.delivered_to(uid)) == 1  # delivered, the store does not know

    sender = restart(world, clock)
    sender.process_due()
    assert len(world.vk_box.delivered_to(uid)) == 1  # same random_id: VK did not deliver twice
    assert len(world.x_box.delivered_to(xid)) == 1
    assert len(world.messages()) == 1


def test_crash_between_x_send_and_store_write_checks_dm_events(world: World) -> None:
    record, _, xid = vk_and_x_client(world)
    clock = Clock()
    sender = world.sender(now=clock)
    sender.enqueue(SendRequest(record, "x exactly once", networks=("x",)))
    crash_after(world.x, "send_message")
    with pytest.raises(Crash):
        sender.process_due()
    sender = restart(world, clock)
    sender.process_due()
    assert len(world.x_box.delivered_to(xid)) == 1
    assert len(world.messages()) == 1
    assert world.messages()[0]["tw_status"] == "Sent"


def test_crash_between_crm_create_and_store_write(world: World) -> None:
    record, uid, _ = vk_and_x_client(world)
    clock = Clock()
    sender = world.sender(now=clock)
    sender.enqueue(SendRequest(record, "create once", networks=("vk",)))
    crash_after(world.crm, "create_message")
    with pytest.raises(Crash):
        sender.process_due()
    assert len(world.messages()) == 1
    sender = restart(world, clock)
    sender.process_due()
    assert len(world.messages()) == 1
    assert record in world.crm_box.related(world.messages()[0]["id"])
    assert len(world.vk_box.delivered_to(uid)) == 1


def test_crash_after_create_of_a_send_that_delivered_nothing(world: World) -> None:
    uid = world.vk_box.add_user("No", "Way", screen_name="no_way", allows_messages=False)
    record = world.contact("Way", vk_url="https://vk.com/no_way")
    clock = Clock()
    sender = world.sender(now=clock)
    sender.enqueue(SendRequest(record, "nobody gets this", networks=("vk",)))
    crash_after(world.crm, "create_message")
    with pytest.raises(Crash):
        sender.process_due()
    sender = restart(world, clock)
    sender.process_due()
    messages = world.messages()
    assert len(messages) == 1 and messages[0]["vk_status"] == "Not sent"
    assert world.vk_box.delivered_to(uid) == []


def test_emoji_become_readable_names_on_a_3_byte_utf8_crm(world: World) -> None:
    record, _, _ = vk_and_x_client(world)
    sender = world.sender()
    sender.enqueue(SendRequest(record, "Спасибо 🙂", networks=("vk",)))
    sender.process_due()
    text = world.messages()[0]["message"]
    assert "?" not in text and text.startswith("Спасибо :")


def test_the_failure_comment_quotes_emoji_as_readable_names_on_a_3_byte_utf8_crm(world: World) -> None:
    # Seen on a real SalesPlatform 7.2 (tests/real_crm/test_emoji.py): the comment said «Ждём вас ????».
    world.vk_box.add_user("Нина", "Молчит", screen_name="nina_emoji", allows_messages=False)
    record = world.contact("Молчит", vk_url="https://vk.com/nina_emoji", assigned_user_id="19x1")
    sender = world.sender()
    sender.enqueue(SendRequest(record, "Ждём вас 😊", networks=("vk",)))
    sender.process_due()
    comments = world.crm_box.records("ModComments")
    [comment] = [c["commentcontent"] for c in comments if c["related_to"] == record]
    assert "«Ждём вас :smiling_face_with_smiling_eyes:»" in comment and "?" not in comment


def test_long_text_is_shortened_visibly_and_kept_whole_in_the_store(world: World) -> None:
    record, _, _ = vk_and_x_client(world)
    world.crm.messages = dataclasses.replace(world.crm.messages, max_chars=50)
    sender = world.sender()
    outbox_id = sender.enqueue(SendRequest(record, "слово " * 40, networks=("vk",)))
    sender.process_due()
    text = world.messages()[0]["message"]
    assert len(text) <= 50 and text.endswith("…")
    send = world.store.outbox.get_send(outbox_id)
    assert send is not None and send.text == "слово " * 40


def test_the_owner_of_the_client_owns_the_message(world: World) -> None:
    user = world.crm_box.add_user("manager", first_name="Maria")
    world.vk_box.add_user("Own", "Er", screen_name="own_er")
    record = world.contact("Er", vk_url="https://vk.com/own_er", assigned_user_id=user)
    sender = world.sender()
    sender.enqueue(SendRequest(record, "hi", networks=("vk",)))
    sender.process_due()
    assert world.messages()[0]["assigned_user_id"] == user
