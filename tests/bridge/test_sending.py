"""Sending over real HTTP: durable outbox, one CRM record per send, exactly-once across crashes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
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


def _vk_contacts(world: World, count: int, **fields: str) -> list[str]:
    records = []
    for n in range(count):
        uid = world.vk_box.add_user("Cost", f"N{n}")
        records.append(world.contact(f"Cost{n}", vk_url=f"https://vk.com/id{uid}", **fields))
    return records


def test_a_send_costs_a_retrieve_a_create_and_a_link(world: World) -> None:
    # Issue 14 §2: the normal path reads the record (when queued), creates the message and links it; no
    # look-up (nothing could have left a record behind) and no owner query (the retrieve gave the owner).
    records = _vk_contacts(world, 20)
    sender = world.sender()
    before = world.crm.request_counts()
    for record in records:
        sender.enqueue(SendRequest(record, "three requests"))
    assert sender.process_due(limit=50) == 20
    after = world.crm.request_counts()
    spent = {op: n - before.get(op, 0) for op, n in after.items() if n != before.get(op, 0)}
    assert spent == {"retrieve": 20, "create": 20, "add_related": 20}
    assert len(world.messages()) == 20


def test_a_send_queued_before_the_process_started_is_looked_up_first(world: World) -> None:
    # A restored backup: the state file is an older copy, taken after the delivery but before the CRM
    # record, which a later (now lost) copy of the same send went on to create. The restarted process
    # must find that record instead of making a second one.
    (record,) = _vk_contacts(world, 1)
    clock = Clock()
    sender = world.sender(now=clock)
    send_id = sender.enqueue(SendRequest(record, "recorded by the lost copy"))
    send = world.store.outbox.claim_send_for("vk", clock(), 60)
    assert send is not None and send.id == send_id
    sender.deliver_to(send, "vk")
    world.store.outbox.release(send.id, send.lease_token or "")
    backup = Path(world.store.path).with_name("backup.sqlite3")
    with closing(sqlite3.connect(world.store.path)) as source, closing(sqlite3.connect(backup)) as copy:
        source.backup(copy)  # as README's backup section says: sqlite3 state.sqlite3 ".backup copy"
    assert sender.process_due() == 1  # the lost copy records it
    assert len(world.messages()) == 1

    world.store.close()
    world.store = Store(backup)
    before = world.crm.request_counts().get("query", 0)
    assert world.sender(now=clock).process_due() == 1
    assert len(world.messages()) == 1
    assert world.crm.request_counts().get("query", 0) == before + 1  # the look-up
    assert record in world.crm_box.related(world.messages()[0]["id"])


def test_the_owner_is_the_one_read_when_queued_and_read_again_once_forgotten_or_old(world: World) -> None:
    maria = world.crm_box.add_user("maria")
    boris = world.crm_box.add_user("boris")
    (record,) = _vk_contacts(world, 1, assigned_user_id=maria)
    sender = world.sender()

    def owners() -> dict[str, str]:
        return {m["message"]: m["assigned_user_id"] for m in world.messages()}

    def queries() -> int:
        return world.crm.request_counts().get("query", 0)

    sender.enqueue(SendRequest(record, "first"))
    world.crm_box.ui_save("Contacts", {"assigned_user_id": boris}, record)
    before = queries()
    sender.process_due()
    # Recorded for the owner the send was queued under, without asking again.
    assert owners() == {"first": maria} and queries() == before

    sender.enqueue(SendRequest(record, "second"))  # reads boris
    world.crm_box.ui_save("Contacts", {"assigned_user_id": maria}, record)
    sender.owners.forget(record)  # what a record_saved event from the CRM does (webhook processor)
    sender.process_due()
    assert owners()["second"] == maria and queries() == before + 1

    sender.enqueue(SendRequest(record, "third"))  # reads maria
    world.crm_box.ui_save("Contacts", {"assigned_user_id": boris}, record)
    sender.owners.ttl = -1.0  # every remembered owner is too old to trust
    sender.process_due()
    assert owners()["third"] == boris and queries() == before + 2


def test_a_create_whose_answer_was_lost_is_looked_up_by_the_same_process(world: World) -> None:
    # No crash: the connection dropped after vtiger created the record. The send is tried again by the
    # same process (not carried over), and only `crm_create_started_at` says a record may exist.
    (record,) = _vk_contacts(world, 1)
    sender = world.sender()
    sender.enqueue(SendRequest(record, "answer lost on the wire"))
    world.crm_box.drop_after("create")
    with pytest.raises(Exception, match=r"(?i)connection|aborted|closed|remote"):
        sender.process_due()
    assert len(world.messages()) == 1
    assert sender.process_due() == 1
    assert len(world.messages()) == 1
    assert record in world.crm_box.related(world.messages()[0]["id"])
