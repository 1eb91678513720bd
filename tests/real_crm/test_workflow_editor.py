"""What vtiger_plugin/workflows.php stores is what vtiger's own workflow editor stores for the same
workflow: each shipped workflow is made once more in the editor (web UI, tests/real_crm/workflow_editor.py),
and the two rows of com_vtiger_workflows are compared byte for byte; the editor's workflow then fires the
plugin on a real save, so its task calls the function under the label install.php registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.daemon.helpers import wait_for
from vtiger_ws import VtigerClient

from .bridge import Bridge, Networks
from .checks import db_rows, vk_link, vk_person
from .conftest import SEND_FIELD, SHIPPED
from .realenv import RealVtiger
from .webui import WebUi
from .workflow_editor import WorkflowEditor
from .workflows import Workflows

# What an administrator picks in the editor for each shipped workflow (vtiger_plugin/README.md, "By hand"):
# the trigger (1 "creation", 3 "updated (includes creation)"), its recurrence (3 "every time the conditions
# are met"), the rows of "All conditions" and of "Any conditions", and the custom function.
EDITOR = {
    SHIPPED[0]: (1, None, [], [("vk_url", "is not empty"), ("tw_url", "is not empty")], "import_profile"),
    SHIPPED[1]: (3, 3, [], [("vk_url", "has changed"), ("tw_url", "has changed")], "import_profile"),
    SHIPPED[2]: (3, 3, [(SEND_FIELD, "is not empty")], [], "send"),
}
COLUMNS = "workflow_id, test, execution_condition, filtersavedinnew, status"


def _row(real: RealVtiger, column: str, name: str) -> dict[str, Any]:
    [row] = db_rows(
        real,
        f"SELECT {COLUMNS} FROM com_vtiger_workflows WHERE module_name = 'Contacts' AND {column} = ?",
        name,
    )
    return row


def _label(real: RealVtiger, function: str) -> str:
    [row] = db_rows(
        real,
        "SELECT method_name FROM com_vtiger_workflowtasks_entitymethod WHERE "
        "module_name = 'Contacts' AND function_name = ?",
        f"socialbridge_{function}",
    )
    return str(row["method_name"])


@pytest.mark.parametrize("shipped_name", SHIPPED, ids=["new record", "link changed", "send field"])
def test_the_editor_stores_what_workflows_php_stores_and_its_workflow_fires_the_plugin(
    social_crm: VtigerClient,
    real_vtiger: RealVtiger,
    shipped: Callable[..., None],
    workflows: Workflows,
    send_bridge: Bridge,
    networks: Networks,
    web_ui: WebUi,
    make_record: Callable[..., str],
    unique: str,
    shipped_name: str,
) -> None:
    crm = social_crm
    shipped()
    by_script = _row(real_vtiger, "summary", shipped_name)
    done = real_vtiger.php_run("modules/SocialBridge/workflows.php", ["--module=Contacts", "--remove"])
    assert done.returncode == 0, done.stderr

    trigger, recurrence, all_rows, any_rows, function = EDITOR[shipped_name]
    name = f"{unique} {function}"
    WorkflowEditor(web_ui).create(
        "Contacts",
        name,
        trigger=trigger,
        recurrence=recurrence,
        all_rows=all_rows,
        any_rows=any_rows,
        method=_label(real_vtiger, function),
    )
    by_editor = _row(real_vtiger, "workflowname", name)
    workflows.created.append(int(by_editor["workflow_id"]))  # deleted after the test
    assert {k: by_editor[k] for k in COLUMNS.split(", ")[1:]} == {
        k: by_script[k] for k in COLUMNS.split(", ")[1:]
    }

    # The editor's workflow at work: one save that meets its conditions.
    uid = vk_person(networks.vk, "Ева", "Редактор", city="Псков")
    if shipped_name == SHIPPED[0]:
        record = make_record("Contacts", vk_url=vk_link(uid))
    else:
        record = make_record("Contacts")
        change = (
            {"vk_url": vk_link(uid)}
            if shipped_name == SHIPPED[1]
            else {"vk_url": vk_link(uid), SEND_FIELD: "Заявка принята"}
        )
        crm.revise({"id": record, **change})
    event = "send" if function == "send" else "import_profile"
    assert send_bridge.wait_accepted(event, record), send_bridge.log
    if function == "send":
        assert wait_for(lambda: bool(networks.vk.delivered_to(uid)), timeout=60), send_bridge.log
    else:
        assert wait_for(lambda: crm.retrieve(record)["mailingcity"] == "Псков", timeout=60), send_bridge.log
    assert wait_for(send_bridge.settled, timeout=60), send_bridge.log
    assert send_bridge.event_errors() == []
