"""Issue 9, defect 1: workflow events are acted on against the committed record, whatever saved it.

vtiger runs "Invoke Custom Function" inside a webservice save's open transaction. Here the real plugin runs
inside the vtiger sandbox's saves, and the bridge is made to act while the transaction is still open
(`World.bridge_acts_now`, the worst case of the race seen on the real server). Every test also runs the
plugin with `send_now` — the event reaching the bridge before the commit, as from an older plugin or a
spool flushed by another request — so the bridge's own guard is tested apart from the plugin's timing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.vtiger.workflows import ON_MODIFY, Task
from tests.workflow.helpers import SEND_FIELD, World, world

if shutil.which("php") is None:
    if os.environ.get("CI"):
        raise RuntimeError("php-cli is required in CI (apt-get install -y php-cli php-curl)")
    pytest.skip("php is not installed", allow_module_level=True)

LINK_CHANGED = [
    {
        "fieldname": "vk_url",
        "operation": "has changed",
        "value": "",
        "valuetype": "rawtext",
        "joincondition": "",
        "groupjoin": "and",
        "groupid": "0",
    }
]
FIELD_FILLED = [
    {
        "fieldname": SEND_FIELD,
        "operation": "is not empty",
        "value": "",
        "valuetype": "rawtext",
        "joincondition": "",
        "groupjoin": "and",
        "groupid": "0",
    }
]


@pytest.fixture(params=["after the request", "before the commit"])
def w(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    with world(tmp_path) as it:
        it.send_now = request.param == "before the commit"  # type: ignore[attr-defined]
        yield it


def _task(w: World, function: str) -> Task:
    return w.plugin.task(function, send_now=getattr(w, "send_now", False))


def test_a_revised_link_imports_the_new_profile_not_the_old(w: World) -> None:
    w.vk.add_user("Anna", "Old", screen_name="anna_old", city="Архангельск")
    w.vk.add_user("Boris", "New", screen_name="boris_new", city="Вологда")
    record = w.crm.seed("Contacts", {"lastname": "Card", "vk_url": "https://vk.com/anna_old"})
    w.crm.add_workflow(
        "Contacts",
        _task(w, "socialbridge_import_profile"),
        w.bridge_acts_now,
        execution_condition=ON_MODIFY,
        test=LINK_CHANGED,
    )
    w.writer.revise({"id": record, "vk_url": "https://vk.com/boris_new"})
    w.settle()
    card = w.card(record)
    assert (card["firstname"], card["mailingcity"]) == ("Boris", "Вологда")
    assert w.failures() == []


def test_a_created_record_is_imported_and_indexed(w: World) -> None:
    uid = w.vk.add_user("Vera", "Fresh", screen_name="vera_fresh", city="Тверь")
    w.crm.add_workflow("Contacts", _task(w, "socialbridge_record_saved"), w.bridge_acts_now)
    created = w.writer.create(
        "Contacts", {"lastname": "Fresh", "vk_url": "https://vk.com/vera_fresh", "assigned_user_id": "19x1"}
    )
    w.settle()
    assert w.card(created["id"])["mailingcity"] == "Тверь"
    assert w.parts.index.records_for("vk", str(uid)) == [("Contacts", created["id"])]
    assert w.failures() == []


def test_a_message_typed_into_the_send_field_is_delivered_and_the_field_cleared(w: World) -> None:
    uid = w.vk.add_user("Gleb", "Send", screen_name="gleb_send")
    record = w.crm.seed("Contacts", {"lastname": "Send", "vk_url": "https://vk.com/gleb_send"})
    w.crm.add_workflow("Contacts", _task(w, "socialbridge_send"), w.bridge_acts_now, test=FIELD_FILLED)
    w.writer.revise({"id": record, SEND_FIELD: "Ваш заказ готов"})
    w.settle()
    assert [m["text"] for m in w.vk.delivered_to(uid)] == ["Ваш заказ готов"]
    assert w.card(record)[SEND_FIELD] == ""
    assert len(w.crm.records("SPSocialConnector")) == 1 and w.failures() == []


def test_web_ui_saves_and_mass_edits_are_acted_on_too(w: World) -> None:
    w.vk.add_user("Dina", "Ui", screen_name="dina_ui", city="Казань")
    w.vk.add_user("Egor", "Mass", screen_name="egor_mass", city="Пермь")
    first = w.crm.seed("Contacts", {"lastname": "Ui"})
    second = w.crm.seed("Contacts", {"lastname": "Mass"})
    w.crm.add_workflow("Contacts", _task(w, "socialbridge_record_saved"), w.bridge_acts_now)
    w.crm.ui_save("Contacts", {"vk_url": "https://vk.com/dina_ui"}, first)
    w.crm.ui_mass_edit("Contacts", [second], {"vk_url": "https://vk.com/egor_mass"})
    w.settle()
    assert (w.card(first)["mailingcity"], w.card(second)["mailingcity"]) == ("Казань", "Пермь")
