"""Issue 9, defect 4: the shipped workflows (vtiger_plugin/workflows.json, stored by workflows.php) cover a
new record and a changed link.

vtiger's "has changed" is never true on create (VTEntityDelta::hasChanged has no old record), so a Contact
entered with its VK link was never imported by the README's old "link has changed" workflow. The sandbox
evaluates the stored conditions as VTJsonCondition does and runs the real plugin.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.workflow.helpers import SEND_FIELD, World, add_shipped_workflows, world

if shutil.which("php") is None:
    if os.environ.get("CI"):
        raise RuntimeError("php-cli is required in CI (apt-get install -y php-cli php-curl)")
    pytest.skip("php is not installed", allow_module_level=True)

IMPORT_NEW = "Social bridge: import the profile of a new record"
IMPORT_CHANGED = "Social bridge: import the profile when a link changes"
SEND = "Social bridge: send the message typed into the send field"
SAVED = "Social bridge: record saved"


@pytest.fixture
def w(tmp_path: Path) -> Iterator[World]:
    with world(tmp_path) as it:
        yield it


def test_a_contact_created_with_its_link_is_imported_through_the_webservice_and_the_ui(w: World) -> None:
    add_shipped_workflows(w, "Contacts", f"--send-field={SEND_FIELD}")
    w.vk.add_user("Inna", "Api", screen_name="inna_api", city="Тула")
    w.vk.add_user("Oleg", "Ui", screen_name="oleg_ui", city="Курск")
    api = w.writer.create(
        "Contacts", {"lastname": "Api", "vk_url": "https://vk.com/inna_api", "assigned_user_id": "19x1"}
    )["id"]
    ui = w.crm.ui_save("Contacts", {"lastname": "Ui", "vk_url": "https://vk.com/oleg_ui"})
    w.settle()
    assert (w.card(api)["mailingcity"], w.card(ui)["mailingcity"]) == ("Тула", "Курск")
    assert w.fired.count(IMPORT_NEW) == 2 and IMPORT_CHANGED not in w.fired and w.failures() == []


def test_a_changed_link_is_imported_and_other_edits_fire_nothing(w: World) -> None:
    add_shipped_workflows(w, "Contacts", f"--send-field={SEND_FIELD}")
    w.vk.add_user("Pavel", "Second", screen_name="pavel_second", city="Орёл")
    record = w.writer.create("Contacts", {"lastname": "Link", "assigned_user_id": "19x1"})["id"]
    assert w.fired == []  # created without a link: nothing to import
    w.writer.revise({"id": record, "title": "Менеджер"})
    assert w.fired == []
    w.writer.revise({"id": record, "vk_url": "https://vk.com/pavel_second"})
    w.settle()
    assert w.card(record)["mailingcity"] == "Орёл" and w.fired[0] == IMPORT_CHANGED
    # The bridge's own profile `revise` changes no link: no workflow of ours fires for it.
    assert w.fired == [IMPORT_CHANGED]


def test_the_send_workflow_fires_while_the_field_holds_text(w: World) -> None:
    add_shipped_workflows(w, "Contacts", f"--send-field={SEND_FIELD}")
    uid = w.vk.add_user("Rita", "Send", screen_name="rita_send")
    record = w.crm.ui_save(
        "Contacts", {"lastname": "Send", "vk_url": "https://vk.com/rita_send", SEND_FIELD: "Добро пожаловать"}
    )
    w.settle()
    # It fires again for the bridge's profile import (the field still held the text): that echo sends nothing.
    assert SEND in w.fired and [m["text"] for m in w.vk.delivered_to(uid)] == ["Добро пожаловать"]
    assert w.card(record)[SEND_FIELD] == "" and len(w.crm.records("SPSocialConnector")) == 1


def test_record_saved_alone_imports_a_created_contact(w: World) -> None:
    add_shipped_workflows(w, "Contacts", "--record-saved", only=SAVED)
    uid = w.vk.add_user("Sara", "Saved", screen_name="sara_saved", city="Псков")
    created = w.writer.create(
        "Contacts", {"lastname": "Saved", "vk_url": "https://vk.com/sara_saved", "assigned_user_id": "19x1"}
    )["id"]
    w.settle()
    assert w.card(created)["mailingcity"] == "Псков" and w.fired == [SAVED, SAVED]  # the create, the import
    assert w.parts.index.records_for("vk", str(uid)) == [("Contacts", created)]
