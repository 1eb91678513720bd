"""vtiger's own workflow editor (Settings > Automation > Workflows > New), driven as the browser drives it.

Read from SalesPlatform 7.2's source (modules/Settings/Workflows and layouts/v7/modules/Settings/Workflows):
the page `view=Edit&mode=V7Edit` holds the form `EditWorkflow`; choosing the module loads the conditions
(`view=EditAjax&mode=getWorkflowConditions`) into it; "Add task > Invoke Custom Function" opens
`view=EditV7Task&type=VTEntityMethodTask`, whose form travels as JSON in a hidden `tasks[]` field of the new
workflow; on save the editor's JavaScript (resources/Edit.js, resources/AdvanceFilter.js) writes the
conditions as JSON into the hidden field `conditions`, checks them with `action=ValidateExpression`, then
submits the form to `action=SaveWorkflow`.

The JSON is built the way AdvanceFilter.js's getValues() builds it: groups "1" (all conditions) and "2" (any
conditions), each `{"columns": {"<n>": row}}` (numbered across groups) plus, for the first group only,
`"condition": "and"` (only its container has the group-join input); a row is `columnname`, `comparator`,
`value` (left out by JSON.stringify when the comparator shows no value box: has changed, is (not) empty),
`valuetype: "rawtext"`, `column_condition` (the row's hidden input: "and" in the first group, "or" in the
second; "" on the last row of a group) and `groupid` ("0" for the first group, "1" for the second).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from html import unescape
from typing import Any

from .webui import WebUi

NO_VALUE_BOX = ("has changed", "is empty", "is not empty", "is added")  # AdvanceFilter.js
SETTINGS = {"module": "Workflows", "parent": "Settings"}


def conditions_json(all_rows: Sequence[tuple[str, str]], any_rows: Sequence[tuple[str, str]]) -> str:
    """The editor's `conditions` field for (columnname, comparator) rows of the two groups."""
    values: dict[str, Any] = {}
    number = 0
    for index, (rows, join) in enumerate(((all_rows, "and"), (any_rows, "or"))):
        columns: dict[str, Any] = {}
        for n, (column, comparator) in enumerate(rows):
            row: dict[str, Any] = {"columnname": column, "comparator": comparator}
            if comparator not in NO_VALUE_BOX:
                row["value"] = ""
            row.update(
                valuetype="rawtext",
                column_condition="" if n == len(rows) - 1 else join,
                groupid="0" if index == 0 else "1",
            )
            columns[str(number)] = row
            number += 1
        if columns:
            values[str(index + 1)] = {"columns": columns}
            if index == 0:
                values["1"]["condition"] = "and"
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


class WorkflowEditor:
    def __init__(self, ui: WebUi) -> None:
        self.ui = ui
        self.b = ui.browser

    def _get(self, step: str, **params: str) -> None:
        self.ui.get(step, **SETTINGS, **params)

    def _post(self, step: str, data: dict[str, str], referer: str) -> str:
        response = self.b.session.post(
            f"{self.b.base}index.php", data=data, headers={"Referer": referer}, timeout=120
        )
        self.b._keep(response, step)
        return str(response.text)

    def columns(self, module: str) -> dict[str, tuple[str, list[str]]]:
        """field name -> (the condition's column value, the comparators the editor offers for it)."""
        self._get(
            "workflow conditions",
            view="EditAjax",
            mode="getWorkflowConditions",
            record="",
            module_name=module,
        )
        page = self.b.page
        ops_match = re.search(r'name="advanceFilterOpsByFieldType" data-value=\'([^\']*)\'', page)
        if ops_match is None:
            self.b.fail("workflow conditions", "no advanceFilterOpsByFieldType on the page")
        ops: dict[str, list[str]] = json.loads(unescape(ops_match.group(1))) if ops_match else {}
        found: dict[str, tuple[str, list[str]]] = {}
        for attrs in re.findall(r"<option ([^>]*data-field-name=[^>]*)>", page):
            value = re.search(r'value="([^"]*)"', attrs)
            name = re.search(r'data-field-name="([^"]*)"', attrs)
            info = re.search(r"data-fieldinfo='([^']*)'", attrs)
            if value and name and info and name.group(1) not in found:
                field_type = json.loads(unescape(info.group(1))).get("type", "")
                found[name.group(1)] = (unescape(value.group(1)), ops.get(field_type, []))
        return found

    def create(
        self,
        module: str,
        name: str,
        *,
        trigger: int,
        recurrence: int | None,
        all_rows: Sequence[tuple[str, str]] = (),
        any_rows: Sequence[tuple[str, str]] = (),
        method: str,
    ) -> None:
        """Save a new active workflow on `module` with one "Invoke Custom Function" task calling `method`
        (its label in the editor's list). Rows are (field name, comparator)."""
        columns = self.columns(module)
        rows = []
        for group in (all_rows, any_rows):
            rows.append([(columns[field][0], comparator) for field, comparator in group])
            for field, comparator in group:
                if comparator not in columns[field][1]:
                    self.b.fail("workflow conditions", f"the editor offers no '{comparator}' for {field}")
        task = self._task(module, name, method)

        self._get("workflow editor", view="Edit", mode="V7Edit", source_module=module)
        page_url = self.b.url
        form = self.b.form("workflow editor", name="EditWorkflow")
        if module not in form.options("module_name"):
            self.b.fail("workflow editor", f"the editor cannot make workflows for {module}")
        data = {
            **form.values(),
            "workflowname": name,
            "summary": name,
            "module_name": module,
            "status": "active",
            "workflow_trigger": str(trigger),
            "filtersavedinnew": "6",
            "conditions": conditions_json(rows[0], rows[1]),
            "tasks[]": task,
        }
        if recurrence is not None:
            data["workflow_recurrence"] = str(recurrence)
        checked = self._post(
            "validate the workflow",
            {**data, "action": "ValidateExpression", "mode": "ForWorkflowEdit"},
            page_url,
        )
        if '"success":true' not in checked:
            self.b.fail("validate the workflow", f"vtiger refused the conditions: {checked[:300]}")
        self._post("save the workflow", data, page_url)
        if "view=List" not in self.b.url:
            self.b.fail("save the workflow", f"the save did not return to the list ({self.b.url})")

    def _task(self, module: str, summary: str, method: str) -> str:
        """The task form of "Invoke Custom Function", filled and checked as the editor does; its JSON."""
        self._get(
            "task editor", view="EditV7Task", type="VTEntityMethodTask", for_workflow="", module_name=module
        )
        task_url = self.b.url
        form = self.b.form("task editor", name="saveTask")
        if method not in form.options("methodName"):
            known = ", ".join(form.options("methodName"))
            self.b.fail("task editor", f"'{method}' is not among the custom functions ({known})")
        params = {**form.values(), "summary": summary, "methodName": method}
        checked = self._post(
            "validate the task", {**params, "action": "ValidateExpression", "mode": "ForTaskEdit"}, task_url
        )
        if '"success":true' not in checked:
            self.b.fail("validate the task", f"vtiger refused the task: {checked[:300]}")
        params["tmpTaskId"] = time.strftime("%y%m%d%H%M%S")  # Edit.js: getUniqueNumber()
        return json.dumps(params, ensure_ascii=False, separators=(",", ":"))
