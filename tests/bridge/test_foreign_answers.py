"""Idempotency keys unique across state files, and answers that name a message not written for the send.

VK keeps one message per `random_id` and sender: a key used before (an outbox id counted again in a new
state file, a restored backup, a second bridge on the community) makes VK answer with the earlier message
and deliver nothing. Such an answer must never mark the send delivered to the wrong client.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bridge.services.sending import SendRequest
from bridge.store import Store
from providers.vk import VkProvider, random_id_for
from providers.x import XProvider
from tests.bridge.conftest import World, fast_limiter
from tests.bridge.test_sending import Clock, Crash, crash_after

# Two different keys whose VK random_id coincide: 31 bits make that likely once in ~58,000 sends.
BIRTHDAY = ("vsb-birthday-12478", "vsb-birthday-84799")


def person(world: World, name: str) -> tuple[str, int]:
    uid = world.vk_box.add_user(name.title(), "Client", screen_name=name)
    world.vk_box.incoming(uid, "hello")
    return world.contact(name.title(), vk_url=f"https://vk.com/{name}"), uid


def new_process(world: World, state: Path) -> None:
    """What a restart does: a new state store (here: a new file) and a new VK client."""
    world.store.close()
    world.store = Store(state)
    world.vk.close()
    box = world.vk_box
    world.vk = VkProvider(
        box.community_token, group_id=box.group_id, api_url=box.url, rate_limiter=fast_limiter()
    )


def record_of(world: World, text: str) -> dict[str, str]:
    (found,) = [m for m in world.messages() if m["message"] == text]
    return found


def force_key(state: Path, outbox_id: int, network: str, key: str) -> None:
    """Give a queued target a key another send used (what an id-derived key did after a state loss)."""
    conn = sqlite3.connect(state)
    try:
        with conn:
            conn.execute(
                "UPDATE outbox_target SET idempotency_key = ? WHERE outbox_id = ? AND network = ?",
                (key, outbox_id, network),
            )
    finally:
        conn.close()


def test_a_lost_state_file_does_not_make_the_next_send_vanish(world: World, tmp_path: Path) -> None:
    anna, anna_uid = person(world, "anna_lost")
    boris, boris_uid = person(world, "boris_lost")
    world.sender().enqueue(SendRequest(anna, "for Anna", networks=("vk",)))
    world.sender().process_due()

    new_process(world, tmp_path / "state-after-loss.sqlite3")  # outbox ids start at 1 again
    world.sender().enqueue(SendRequest(boris, "for Boris", networks=("vk",)))
    world.sender().process_due()

    assert [m["text"] for m in world.vk_box.delivered_to(boris_uid)] == ["for Boris"]
    assert [m["text"] for m in world.vk_box.delivered_to(anna_uid)] == ["for Anna"]
    assert world.crm_box.related(record_of(world, "for Anna")["id"]) == [anna]
    assert world.crm_box.related(record_of(world, "for Boris")["id"]) == [boris]


def test_a_key_vk_kept_for_another_person_is_caught_and_the_send_goes_out_under_a_new_key(
    world: World, tmp_path: Path
) -> None:
    anna, _ = person(world, "anna_key")
    boris, boris_uid = person(world, "boris_key")
    first = world.sender().enqueue(SendRequest(anna, "for Anna", networks=("vk",)))
    world.sender().process_due()
    send = world.store.outbox.get_send(first)
    assert send is not None
    anna_key = send.target("vk").idempotency_key

    state = tmp_path / "restored.sqlite3"  # e.g. another bridge's state file, or one from before v02
    new_process(world, state)
    second = world.sender().enqueue(SendRequest(boris, "for Boris", networks=("vk",)))
    force_key(state, second, "vk", anna_key)
    world.sender().process_due()

    assert [m["text"] for m in world.vk_box.delivered_to(boris_uid)] == ["for Boris"]
    assert world.crm_box.related(record_of(world, "for Anna")["id"]) == [anna]
    boris_record = record_of(world, "for Boris")
    assert world.crm_box.related(boris_record["id"]) == [boris] and boris_record["vk_status"] == "Sent"
    done = world.store.outbox.get_send(second)
    assert done is not None and done.target("vk").idempotency_key != anna_key


def test_two_keys_with_one_random_id_to_the_same_person_are_caught_by_the_ledger(world: World) -> None:
    assert random_id_for(BIRTHDAY[0]) == random_id_for(BIRTHDAY[1])
    anna, anna_uid = person(world, "anna_twice")
    sender = world.sender()
    state = Path(world.store.path)
    first = sender.enqueue(SendRequest(anna, "first", networks=("vk",)))
    force_key(state, first, "vk", BIRTHDAY[0])
    sender.process_due()
    second = sender.enqueue(SendRequest(anna, "second", networks=("vk",)))
    force_key(state, second, "vk", BIRTHDAY[1])
    sender.process_due()  # VK answers with "first": her own message, but the ledger's for another send

    assert [m["text"] for m in world.vk_box.delivered_to(anna_uid)] == ["first", "second"]
    assert record_of(world, "first")["id"] != record_of(world, "second")["id"]
    assert world.crm_box.related(record_of(world, "second")["id"]) == [anna]


def test_a_second_foreign_answer_fails_the_send_and_says_so_in_the_crm(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, _ = person(world, "anna_again")
    boris, boris_uid = person(world, "boris_again")
    first = world.sender().enqueue(SendRequest(anna, "for Anna", networks=("vk",)))
    world.sender().process_due()
    send = world.store.outbox.get_send(first)
    assert send is not None
    anna_key = send.target("vk").idempotency_key

    state = tmp_path / "restored.sqlite3"
    new_process(world, state)
    second = world.sender().enqueue(SendRequest(boris, "for Boris", networks=("vk",)))
    force_key(state, second, "vk", anna_key)
    # The renewed key repeats Anna's too: a second such answer is no coincidence, the send stops.
    monkeypatch.setattr("bridge.store.outbox.new_idempotency_key", lambda: anna_key)
    world.sender().process_due()

    assert world.vk_box.delivered_to(boris_uid) == []
    done = world.store.outbox.get_send(second)
    assert done is not None and done.target("vk").error_code == "FOREIGN_MESSAGE"
    record = record_of(world, "for Boris")
    assert record["vk_status"] == "Not sent" and world.crm_box.related(record["id"]) == [boris]
    (comment,) = [c for c in world.crm_box.records("ModComments") if c["related_to"] == boris]
    assert "another person" in comment["commentcontent"]
    assert "was not delivered; send it again" in comment["commentcontent"]
    assert world.crm_box.related(record_of(world, "for Anna")["id"]) == [anna]


def test_an_x_message_found_for_another_send_is_not_taken_for_this_one(world: World) -> None:
    xid = world.x_box.add_user("same_text", "Same Text")
    record = world.contact("Text", tw_url="https://x.com/same_text")
    clock = Clock()
    sender = world.sender(now=clock)
    sender.enqueue(SendRequest(record, "Thank you!", networks=("x",)))
    sender.process_due()
    second = sender.enqueue(SendRequest(record, "Thank you!", networks=("x",)))
    crash_after(world.store.outbox, "mark_target_sending")  # the process dies as the X call starts
    with pytest.raises(Crash):
        sender.process_due()
    del world.store.outbox.mark_target_sending
    world.x.close()
    box = world.x_box
    world.x = XProvider(  # a new process: X's lookup finds the first send's identical DM
        box.consumer_key,
        box.consumer_secret,
        box.access_token,
        box.access_token_secret,
        api_url=box.url,
        rate_limiter=fast_limiter(),
        wall_clock=box.clock,
    )
    world.sender(now=clock).process_due()

    assert len(world.x_box.delivered_to(xid)) == 1
    done = world.store.outbox.get_send(second)
    assert done is not None and done.target("x").error_code == "FOREIGN_MESSAGE"
    records = [m for m in world.messages() if m["message"] == "Thank you!"]
    assert sorted(m["tw_status"] for m in records) == ["Not sent", "Sent"]
