"""One smoke test per fixture of the real-CRM suite: each proves its fixture works against the real vtiger."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.daemon.helpers import wait_for
from vtiger_ws import VtigerAccessDenied, VtigerClient

from .bridge import Bridge, Networks
from .plugin import Plugin
from .realenv import RealVtiger
from .webui import WebUi
from .workflows import IMPORT_PROFILE, ON_EVERY_SAVE, Workflows, has_changed


def test_the_crm_answers_as_the_environment_says(crm: VtigerClient, real_vtiger: RealVtiger) -> None:
    assert crm.login_info.vtiger_version.split(".")[0] in ("7", "8")
    assert (real_vtiger.root / "vtigerversion.php").is_file()
    assert {"lastname", "email"} <= {f.name for f in crm.describe("Contacts").fields}


def test_a_salesplatform_has_the_social_fields(social_crm: VtigerClient) -> None:
    assert "vk_url" in {f.name for f in social_crm.describe("Leads").fields}


def test_make_record_creates_a_record_with_a_unique_name(
    crm: VtigerClient, make_record: Callable[..., str], unique: str
) -> None:
    record = make_record("Contacts", email="durov@example.com")
    stored = crm.retrieve(record)
    assert stored["lastname"].startswith(unique) and stored["email"] == "durov@example.com"


def test_the_plugin_is_installed_and_registered(real_vtiger: RealVtiger, plugin: Plugin) -> None:
    assert (plugin.folder / "SocialBridge.php").is_file()
    registered = real_vtiger.php_run("modules/SocialBridge/install.php")  # re-running is harmless
    assert registered.returncode == 0 and registered.stdout.count("registered") == 12  # 4 functions x 3


def test_workflows_are_stored_as_vtiger_stores_them_and_deleted(workflows: Workflows) -> None:
    workflow_id = workflows.create("Contacts", IMPORT_PROFILE, conditions=has_changed("email"))
    [stored] = [w for w in workflows.list("Contacts") if w["workflow_id"] == workflow_id]
    assert stored["execution_condition"] == ON_EVERY_SAVE
    assert stored["tasks"] == [IMPORT_PROFILE]
    first = stored["conditions"][0]
    assert (first["fieldname"], first["operation"]) == ("email", "has changed")
    workflows.delete(workflow_id)
    assert workflow_id not in [w["workflow_id"] for w in workflows.list("Contacts")]


def test_web_ui_save_creates_and_edits_like_a_browser(crm: VtigerClient, web_ui: WebUi, unique: str) -> None:
    prefix = crm.describe("Contacts").id_prefix
    created = web_ui.save("Contacts", {"lastname": f"{unique} веб", "email": "web@example.com"})
    record = f"{prefix}x{created}"
    try:
        assert web_ui.save("Contacts", {"firstname": "Пётр"}, record=record) == created
        stored = crm.retrieve(record)
        assert (stored["firstname"], stored["lastname"]) == ("Пётр", f"{unique} веб")
        assert stored["email"] == "web@example.com"
        assert stored["source"] != "WEBSERVICE"  # saved by the web UI
    finally:
        crm.delete(record)


def test_check_passes_against_the_real_crm(social_crm: VtigerClient, bridge: Bridge) -> None:
    done = bridge.cli("check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "vtiger login" in done.stdout and "vk token" in done.stdout


def test_a_workflow_fires_the_plugin_on_a_web_ui_save_and_the_bridge_gets_the_event(
    social_crm: VtigerClient,
    web_ui: WebUi,
    workflows: Workflows,
    bridge: Bridge,
    networks: Networks,
    unique: str,
) -> None:
    crm = social_crm
    user = networks.vk.add_user("Иван", "Петров", screen_name=f"ivan{unique.replace('-', '')}")
    workflows.create("Contacts", IMPORT_PROFILE, conditions=has_changed("vk_url"))
    prefix = crm.describe("Contacts").id_prefix
    created = web_ui.save("Contacts", {"lastname": f"{unique} workflow"})
    record = f"{prefix}x{created}"
    try:
        web_ui.save("Contacts", {"vk_url": f"https://vk.com/id{user}"}, record=record)
        assert bridge.wait_accepted("import_profile", record), bridge.log + bridge.plugin.log  # type: ignore[union-attr]
        assert wait_for(lambda: crm.retrieve(record)["firstname"] == "Иван", timeout=30), bridge.log
    finally:
        crm.delete(record)


@pytest.mark.slow
def test_reset_brings_back_the_fresh_install(
    real_vtiger: RealVtiger, crm: VtigerClient, make_record: Callable[..., str], plugin: Plugin
) -> None:
    if not real_vtiger.reset_command:
        pytest.skip("no reset command for this CRM (VSB_REAL_VTIGER_PROFILE or _RESET)")
    record = make_record("Contacts")
    seconds = real_vtiger.reset()
    try:
        with pytest.raises(VtigerAccessDenied):
            crm.retrieve(record)
        assert crm.query("SELECT count(*) FROM Contacts;") == [{"count": "0"}]
        assert not plugin.folder.exists()  # the plugin was not part of the fresh install
    finally:
        plugin.install()  # the session's other tests still expect it
    assert seconds < 120
