"""Sending through the send field (`fields.outgoing_text_field` + the shipped send workflow), after a save in
the web UI and through the webservice: delivered once, one SPSocialConnector record linked to the client
with its VK status, message id and the time of the send, the field emptied, and a later edit of the card
sends nothing. A send VK refuses (error 901) leaves "Not sent" and a comment in the CRM's language (Russian
on SalesPlatform).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from tests.daemon.helpers import wait_for
from vtiger_ws import VtigerClient

from .bridge import Bridge, Networks
from .checks import comments_on, crm_language, linked_messages, vk_link, vk_person
from .conftest import SEND_FIELD
from .webui import WebUi


def _sent_once(
    crm: VtigerClient, bridge: Bridge, networks: Networks, record: str, uid: int, text: str
) -> None:
    assert wait_for(
        lambda: crm.retrieve(record)[SEND_FIELD] == "" and bool(networks.vk.delivered_to(uid)), timeout=60
    ), bridge.log
    assert wait_for(bridge.settled, timeout=60), bridge.log
    [delivered] = networks.vk.delivered_to(uid)
    assert delivered["text"] == text
    [message] = linked_messages(crm, record)
    assert (message["message"], message["type"], message["vk_status"], message["vk_message_id"]) == (
        text,
        "Outbound",
        "Sent",
        str(delivered["id"]),
    )
    _dated_when_sent(crm, message["id"], record)


def _dated_when_sent(crm: VtigerClient, message_id: str, record: str) -> None:
    """The message's "Date Time" is the moment of the send in the CRM server's time zone: the zone vtiger
    keeps `modifiedtime` in (the client's, last set when the bridge emptied the send field) and converts
    from for each user's display. Written in another zone, every user would see it hours off."""
    sent, changed = (
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        for value in (crm.retrieve(message_id)["message_datetime"], crm.retrieve(record)["modifiedtime"])
    )
    assert abs((sent - changed).total_seconds()) < 300, (sent, changed)


def _edits_send_nothing(
    crm: VtigerClient, bridge: Bridge, networks: Networks, web_ui: WebUi, record: str, uid: int
) -> None:
    """Title edits through the webservice and the web UI: with the field empty the workflow's condition is
    false, so no event at all; the plugin posts before the save's answer is complete (the end of the
    request), so the count of accepted events is final once the saves returned."""
    accepted = len(bridge.accepted())
    crm.revise({"id": record, "title": "Директор"})
    web_ui.save("Contacts", {"title": "Главный директор"}, record=record)
    assert len(bridge.accepted()) == accepted, bridge.log
    assert len(networks.vk.delivered_to(uid)) == 1
    assert len(linked_messages(crm, record)) == 1


@pytest.mark.parametrize("save", ["webservice", "web UI"])
def test_a_text_typed_into_the_send_field_is_sent_once_recorded_once_and_the_field_emptied(
    social_crm: VtigerClient,
    shipped: Callable[..., None],
    send_bridge: Bridge,
    networks: Networks,
    web_ui: WebUi,
    make_record: Callable[..., str],
    save: str,
) -> None:
    crm = social_crm
    uid = vk_person(networks.vk, "Глеб", "Отправка")
    record = make_record("Contacts", vk_url=vk_link(uid))
    shipped()
    text = f"Ваш заказ готов ({save})"
    if save == "webservice":
        crm.revise({"id": record, SEND_FIELD: text})
    else:
        web_ui.save("Contacts", {SEND_FIELD: text}, record=record)
    assert send_bridge.accepted("send", record), send_bridge.log  # posted before the save answered
    _sent_once(crm, send_bridge, networks, record, uid, text)
    _edits_send_nothing(crm, send_bridge, networks, web_ui, record, uid)
    assert send_bridge.event_errors() == []


NOT_DELIVERED_901 = {
    "ru": "Сообщение «Напоминаем о встрече» не доставлено:\n- ВКонтакте: ВКонтакте не разрешает сообществу "
    "писать этому человеку, пока он сам не напишет сообществу или не разрешит сообщения от него.",
    "en": "The message «Напоминаем о встрече» was not delivered:\n- VK: VK does not allow this community to "
    "message this person until they write to it or allow messages from it. (VK error 901)",
}


def test_a_send_vk_refuses_leaves_not_sent_and_a_comment_in_the_crms_language_on_the_card(
    social_crm: VtigerClient,
    shipped: Callable[..., None],
    send_bridge: Bridge,
    networks: Networks,
    make_record: Callable[..., str],
) -> None:
    crm = social_crm
    uid = vk_person(networks.vk, "Нина", "Молчит", allows_messages=False)  # VK answers error 901
    record = make_record("Contacts", vk_url=vk_link(uid))
    shipped()
    crm.revise({"id": record, SEND_FIELD: "Напоминаем о встрече"})
    assert wait_for(lambda: bool(comments_on(crm, record)), timeout=60), send_bridge.log
    assert wait_for(send_bridge.settled, timeout=60), send_bridge.log
    assert networks.vk.delivered_to(uid) == []
    [message] = linked_messages(crm, record)
    assert (message["message"], message["vk_status"], message["vk_message_id"]) == (
        "Напоминаем о встрече",
        "Not sent",
        "",
    )
    # Russian on SalesPlatform (ru_ru), English on a vtiger installed in English.
    assert comments_on(crm, record) == [NOT_DELIVERED_901[crm_language(crm)[:2]]]
    assert crm.retrieve(record)[SEND_FIELD] == ""  # queued, so emptied: the outcome is on the card
