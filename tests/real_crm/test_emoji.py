"""Emoji on the real 3-byte-utf8 MariaDB a SalesPlatform install creates, where vtiger stores every byte of a
character outside the BMP as `?`. The bridge writes readable stand-ins (`:grinning_face:`), and neither
loops nor duplicates because what the CRM stored differs from what it was given; finding out that the
database cannot store emoji leaves nothing behind (no record in the Recycle Bin).
"""

from __future__ import annotations

from collections.abc import Callable

from tests.daemon.helpers import wait_for
from vtiger_ws import VtigerClient

from .bridge import Bridge, Networks
from .checks import (
    comments_on,
    crm_language,
    linked_messages,
    messages_with_vk_id,
    recycle_bin,
    vk_link,
    vk_person,
)
from .conftest import SEND_FIELD
from .realenv import RealVtiger
from .workflows import RECORD_SAVED, Workflows

EVERY_3_S = "{interval_minutes: 0.05}"


def test_the_database_stores_an_emoji_as_one_question_mark_per_byte(
    social_crm: VtigerClient,
    make_record: Callable[..., str],
) -> None:
    record = make_record("Contacts", firstname="Пётр 🙂")
    assert social_crm.retrieve(record)["firstname"] == "Пётр ????"  # what every test below works around


def test_a_message_with_emoji_is_imported_once_in_readable_words_and_the_probe_leaves_nothing(
    social_crm: VtigerClient,
    real_vtiger: RealVtiger,
    make_bridge: Callable[..., Bridge],
    networks: Networks,
    make_record: Callable[..., str],
) -> None:
    crm, vk = social_crm, networks.vk
    uid = vk_person(vk, "Эмма", "Смайл")
    card = make_record("Contacts", vk_url=vk_link(uid))
    message = vk.incoming(uid, "Привет 😀👍🏽 как дела?")
    binned = recycle_bin(real_vtiger)
    bridge = make_bridge(vk_imports=EVERY_3_S)
    assert wait_for(lambda: bool(linked_messages(crm, card)), timeout=60), bridge.log
    runs = vk.count("messages.getConversations")
    assert wait_for(lambda: vk.count("messages.getConversations") >= runs + 2, timeout=60), bridge.log
    [stored] = messages_with_vk_id(crm, message)
    assert stored["message"] == (
        "Привет :grinning_face::thumbs_up_sign::emoji_modifier_fitzpatrick_type-4: как дела?"
    )
    assert [m["id"] for m in linked_messages(crm, card)] == [stored["id"]]
    assert "emoji are written as readable names" in bridge.log  # the probe: none among the CRM's messages
    assert recycle_bin(real_vtiger) == binned  # and it wrote nothing to find out


def test_a_profile_with_emoji_is_written_in_readable_words_and_its_echo_does_not_loop(
    social_crm: VtigerClient,
    workflows: Workflows,
    bridge: Bridge,
    networks: Networks,
    make_record: Callable[..., str],
    unique: str,
) -> None:
    # "record saved" fires on every save, the bridge's own profile write included: that echo is recognised
    # although the record's data is what the CRM stored, not what the profile said.
    crm = social_crm
    uid = vk_person(networks.vk, "Лиза🌸", "Солнечная", city="Сочи ☀️")
    workflows.create("Contacts", RECORD_SAVED)
    card = make_record("Contacts", vk_url=vk_link(uid))
    assert wait_for(lambda: crm.retrieve(card)["firstname"] != "", timeout=60), bridge.log
    assert wait_for(lambda: len(bridge.accepted()) == 2 and bridge.settled(), timeout=60), bridge.log
    stored = crm.retrieve(card)
    assert (stored["firstname"], stored["lastname"], stored["mailingcity"]) == (
        "Лиза:cherry_blossom:",
        f"{unique} 1",
        "Сочи ☀",
    )
    assert "echo of the bridge's own write" in bridge.log
    assert len(bridge.accepted()) == 2 and bridge.event_errors() == []  # the create and its echo, no more


def test_a_text_with_emoji_typed_into_the_send_field_is_sent_once_and_the_field_emptied(
    social_crm: VtigerClient,
    shipped: Callable[..., None],
    send_bridge: Bridge,
    networks: Networks,
    make_record: Callable[..., str],
) -> None:
    # The workflow's data is read back from the database inside the save, so the text arrives as vtiger
    # stored it ("????"); what matters is that it goes out once and the field is emptied (a text that
    # never matches what the CRM shows would wait forever, or be sent again by the next save).
    crm = social_crm
    uid = vk_person(networks.vk, "Олег", "Спасибо")
    card = make_record("Contacts", vk_url=vk_link(uid))
    shipped()
    crm.revise({"id": card, SEND_FIELD: "Спасибо 🙏"})
    assert wait_for(
        lambda: crm.retrieve(card)[SEND_FIELD] == "" and bool(networks.vk.delivered_to(uid)), timeout=60
    ), send_bridge.log
    assert wait_for(send_bridge.settled, timeout=60), send_bridge.log
    crm.revise({"id": card, "title": "Директор"})
    assert wait_for(send_bridge.settled, timeout=60), send_bridge.log
    [delivered] = networks.vk.delivered_to(uid)
    [recorded] = linked_messages(crm, card)
    assert (recorded["message"], recorded["vk_message_id"]) == (delivered["text"], str(delivered["id"]))
    assert send_bridge.event_errors() == [] and "waits:" not in send_bridge.log


def test_the_comment_on_a_failed_send_shows_the_emoji_in_readable_words(
    social_crm: VtigerClient,
    bridge: Bridge,
    networks: Networks,
    make_record: Callable[..., str],
) -> None:
    crm = social_crm
    uid = vk_person(networks.vk, "Нина", "Молчит", allows_messages=False)  # VK answers error 901
    card = make_record("Contacts", vk_url=vk_link(uid))
    done = bridge.cli("send", card, "--text", "Ждём вас 😊")
    assert done.returncode == 4, done.stdout + done.stderr  # EXIT_RECORDS: a record failed
    [comment] = comments_on(crm, card)
    readable = "Ждём вас :smiling_face_with_smiling_eyes:"
    header = {
        "ru": f"Сообщение «{readable}» не доставлено:\n",
        "en": f"The message «{readable}» was not delivered:\n",
    }
    assert comment.startswith(header[crm_language(crm)[:2]]), comment
    [message] = linked_messages(crm, card)
    assert (message["message"], message["vk_status"]) == (readable, "Not sent")


def test_a_lead_made_for_an_unknown_sender_with_emoji_in_the_name_reads_in_words(
    social_crm: VtigerClient,
    make_bridge: Callable[..., Bridge],
    networks: Networks,
) -> None:
    crm, vk = social_crm, networks.vk
    uid = vk_person(vk, "Ника✨🌸", "Новая🦊")  # ✨ is in the BMP: it stays
    message = vk.incoming(uid, "Хочу заказать")
    bridge = make_bridge(vk_imports="{interval_minutes: 60, unknown_sender: create_lead}")
    assert wait_for(lambda: bool(messages_with_vk_id(crm, message)), timeout=60), bridge.log
    [lead] = crm.query(f"SELECT id, firstname, lastname FROM Leads WHERE vk_url = '{vk_link(uid)}';")
    try:
        assert (lead["firstname"], lead["lastname"]) == ("Ника✨:cherry_blossom:", "Новая:fox_face:")
        assert [m["message"] for m in linked_messages(crm, lead["id"])] == ["Хочу заказать"]
    finally:
        crm.delete(lead["id"])
