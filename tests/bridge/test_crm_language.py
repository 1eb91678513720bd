"""What the bridge writes into the CRM for people follows the CRM's language: Russian on SalesPlatform
(the sandbox's ru_ru profile, as recorded from a real SalesPlatform 7.2), English on an en_us vtiger, and
what the administrator sets in `vtiger.language` over both. The emoji check writes nothing into the CRM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.config import load_config
from bridge.crm import Crm
from bridge.crm.texts import FailedTarget, failure_comment, language_of
from bridge.daemon.app import App
from bridge.daemon.wiring import build, detect_language
from bridge.services.sending import SendRequest
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.bridge.conftest import World
from tests.daemon.helpers import write_config
from vtiger_ws import VtigerClient


def comments_on(world: World, record: str) -> list[str]:
    return [c["commentcontent"] for c in world.crm_box.records("ModComments") if c["related_to"] == record]


def test_a_salesplatform_crm_is_russian_and_gets_its_failure_comment_in_russian(world: World) -> None:
    assert world.crm.read_language("19x1") == "ru"  # the sandbox's salesplatform-7.2 profile: ru_ru
    uid = world.vk_box.add_user("Нина", "Закрытая", screen_name="nina_closed", allows_messages=False)
    record = world.contact("Закрытая", vk_url="https://vk.com/nina_closed")
    sender = world.sender()
    sender.enqueue(SendRequest(record, "Ваш заказ готов", networks=("vk",)))
    assert sender.process_due() == 1
    assert world.vk_box.delivered_to(uid) == []
    assert world.messages()[0]["vk_status"] == "Not sent"  # the picklist value stays the CRM's own
    assert comments_on(world, record) == [
        "Сообщение «Ваш заказ готов» не доставлено:\n"
        "- ВКонтакте: ВКонтакте не разрешает сообществу писать этому человеку, пока он сам не напишет "
        "сообществу или не разрешит сообщения от него."
    ]


def test_every_refusal_a_network_can_give_has_russian_words() -> None:
    """No reason a send can fail for good falls back to the network's English in a Russian CRM."""
    from providers.errors import NotAllowedReason

    codes = [(str(reason), network) for reason in NotAllowedReason for network in ("vk", "x", "facebook")]
    codes += [
        (code, network)
        for code in ("ProviderNotFound", "NOT_FOUND", "InvalidProfileUrl", "DISABLED")
        for network in ("vk", "x", "facebook")
    ]
    for code, network in codes:
        target = FailedTarget(network, code, "English text of the network", "https://vk.com/someone")
        text = failure_comment("ru", "привет", [target])
        assert "English text" not in text and "по-английски" not in text, (code, network)
        assert text.startswith("Сообщение «привет» не доставлено:\n- "), text


def test_an_unknown_failure_keeps_the_networks_words_introduced_in_russian() -> None:
    target = FailedTarget("vk", "ProviderError", "The message is too long for VK. (VK error 914)")
    assert failure_comment("ru", "x", [target]).endswith(
        "- ВКонтакте: ответ сети (по-английски): The message is too long for VK. (VK error 914)"
    )
    english = failure_comment("en", "x", [target])
    assert english.endswith("- VK: The message is too long for VK. (VK error 914)")


@pytest.mark.parametrize(
    ("vtiger", "bridge"), [("ru_ru", "ru"), ("en_us", "en"), ("de_de", "en"), ("RU_RU", "ru"), ("", "en")]
)
def test_vtiger_languages_map_to_the_bridges(vtiger: str, bridge: str) -> None:
    assert language_of(vtiger) == bridge


@pytest.fixture
def english_crm() -> Iterator[tuple[VtigerSandbox, VkSandbox]]:
    with VtigerSandbox("vtiger-7") as crm, VkSandbox() as vk:
        yield crm, vk


def test_an_english_vtiger_gets_english_comments(
    english_crm: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm_box, vk = english_crm
    parts = build(load_config(write_config(tmp_path, crm_box, vk), env={}))
    try:
        info = parts.crm.login()
        detect_language(parts, info.user_id)
        parts.crm.check_schema(["vk"])
        assert parts.crm.language == "en"
        vk.add_user("Closed", "Person", screen_name="closed_en", allows_messages=False)
        record = crm_box.seed("Contacts", {"lastname": "Person", "vk_url": "https://vk.com/closed_en"})
        parts.sender.enqueue(SendRequest(record, "Your order is ready"))
        parts.sender.process_due()
    finally:
        parts.close()
    comments = [c["commentcontent"] for c in crm_box.records("ModComments") if c["related_to"] == record]
    assert len(comments) == 1
    assert comments[0].startswith(
        "The message «Your order is ready» was not delivered:\n- VK: VK does not allow"
    )


def test_the_configuration_overrides_the_crms_language(world: World, tmp_path: Path) -> None:
    config = write_config(tmp_path, world.crm_box, world.vk_box, extra="")
    config.write_text(config.read_text().replace("username: admin,", "username: admin, language: en,"))
    parts = build(load_config(config, env={}))
    try:
        detect_language(parts, parts.crm.login().user_id)
        assert parts.crm.language == "en"  # although the CRM is ru_ru
    finally:
        parts.close()


def test_starting_writes_nothing_into_the_crm_to_learn_about_emoji(world: World, tmp_path: Path) -> None:
    """The old probe created and deleted a record, which stayed in vtiger's Recycle Bin."""
    crm_box = world.crm_box
    app = App(load_config(write_config(tmp_path, crm_box, world.vk_box), env={}))
    try:
        app.prepare()
        assert app.parts.crm.bmp_only is True  # no emoji stored yet: written as names, losing nothing
    finally:
        app.parts.close()
    assert crm_box.count("create") == 0 and crm_box.count("delete") == 0 and crm_box.count("revise") == 0


def test_an_emoji_already_in_the_crm_proves_it_can_store_them(tmp_path: Path) -> None:
    with VtigerSandbox("vtiger-7") as crm_box, VkSandbox() as vk:  # utf8mb4: keeps emoji
        crm_box.seed("SPSocialConnector", {"message": "спасибо 🙂", "type": "Incoming"})
        crm = Crm(VtigerClient(crm_box.url, crm_box.username, crm_box.access_key))
        try:
            assert crm.probe_4byte_utf8() is True and crm.bmp_only is False
        finally:
            crm.client.close()
        app = App(load_config(write_config(tmp_path, crm_box, vk), env={}))
        try:
            app.prepare()
            assert app.parts.crm.bmp_only is False
        finally:
            app.parts.close()
        assert crm_box.count("create") == 0
