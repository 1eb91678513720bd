"""Workflows that run inside the save, as vtiger's workflow engine runs them.

On a real vtiger, `CRMEntity::save` fires `vtiger.entity.aftersave`, and the workflow engine evaluates every
workflow of the module (`VTWorkflowEventHandler::handleEvent`: execution condition, then the stored JSON
conditions of `VTJsonCondition`) and runs the tasks of those that match, synchronously (an "Invoke Custom
Function" task has `executeImmediately = true`). A webservice `create`/`update`/`revise` wraps the whole save
in one database transaction (`VtigerCRMObject::create/update/revise` call `startTransaction` around
`Save`), so the tasks run *before the commit*: any other connection still reads the record as it was, and
a record being created is not readable at all. A web-UI save has no outer transaction: the row is committed
before the tasks run.

Here a task is a Python callable given a `WorkflowRun`; tests register tasks that run the real PHP plugin
(`tests/plugin/`), post what it posts, or make the bridge act while the transaction is still open.
`RequestScope.at_end` stands for PHP's `register_shutdown_function`: it runs once the request's transaction
is over (after the commit), before the client gets its answer.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# VTWorkflowManager's execution conditions (trigger modes).
ON_FIRST_SAVE = 1
ONCE = 2
ON_EVERY_SAVE = 3
ON_MODIFY = 4
ON_SCHEDULE = 6
MANUAL = 7
_NUMERIC = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


class RequestScope:
    """One PHP request: tasks may keep state here; `at_end` callables run when the request is over."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}
        self._at_end: list[Callable[[], None]] = []

    def at_end(self, callback: Callable[[], None]) -> None:
        self._at_end.append(callback)

    def end(self) -> None:
        """Run the end-of-request callbacks in the order they were registered (as PHP does)."""
        callbacks, self._at_end = self._at_end, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # PHP goes on with the next shutdown function
                log.exception("vtiger sandbox: an end-of-request callback failed")


@dataclass
class WorkflowRun:
    """What a task sees: `VTWorkflowEntity` of the saved record, `VTEntityDelta`, and where it runs."""

    workflow: Workflow
    module: str
    record_id: str  # webservice id, e.g. "12x5"
    data: dict[str, str]  # getData(): the record as this save left it, every string html-decoded
    delta: dict[str, dict[str, str]]  # field -> {"oldValue", "currentValue"}, as getEntityDelta()
    is_new: bool
    committed: bool  # False: inside the webservice request's open transaction
    request: RequestScope

    @property
    def crmid(self) -> str:
        return self.record_id.partition("x")[2]


Task = Callable[[WorkflowRun], None]


@dataclass
class Workflow:
    """One row of com_vtiger_workflows with its tasks; `test` is the stored JSON of the conditions."""

    module: str
    tasks: list[Task]
    execution_condition: int = ON_EVERY_SAVE
    test: str = ""
    summary: str = ""
    done_for: set[str] = field(default_factory=set)  # ONCE: records it already ran for


def decode_html(data: Mapping[str, str]) -> dict[str, str]:
    """VTWorkflowEntity decodes every string once more (`html_entity_decode(..., ENT_QUOTES)`)."""
    return {k: html.unescape(v) if isinstance(v, str) else v for k, v in data.items()}


def entity_delta(before: Mapping[str, str] | None, after: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """VTEntityDelta::computeDelta: a field is changed when it was empty and is not, or differs."""
    old = before or {}
    delta: dict[str, dict[str, str]] = {}
    for name, value in after.items():
        previous = old.get(name)
        if (_php_empty(previous) and not _php_empty(value)) or (
            not _php_empty(previous) and previous != value
        ):
            delta[name] = {"oldValue": previous if previous is not None else "", "currentValue": value}
    return delta


def _php_empty(value: Any) -> bool:
    return bool(value in (None, "", "0", 0, False) or value == [])


def _php_equal(a: Any, b: Any) -> bool:
    """PHP 8's loose `==` between two strings: numerically when both are numeric, else byte-exact."""
    left, right = "" if a is None else str(a), "" if b is None else str(b)
    if _NUMERIC.fullmatch(left) and _NUMERIC.fullmatch(right):
        return float(left) == float(right)
    return left == right


def check_condition(cond: Mapping[str, Any], run: WorkflowRun) -> bool:
    """VTJsonCondition::checkCondition for plain field conditions with raw-text values."""
    operation = str(cond.get("operation") or "")
    if not operation:
        return False
    if cond.get("valuetype", "rawtext") not in ("rawtext", "", None):
        raise ValueError(f"the sandbox evaluates raw-text values only, not {cond.get('valuetype')!r}")
    name = str(cond.get("fieldname") or "")
    current = run.data.get(name)
    value = html.unescape(str(cond.get("value") or "")).strip()
    text = "" if current is None else str(current)
    if operation == "is":
        return _php_equal(current, value)
    if operation == "is not":
        return not _php_equal(current, value)
    if operation == "contains":
        return (_php_empty(current) and _php_empty(value)) or value in text
    if operation == "does not contain":
        return value not in text if value else True
    if operation == "starts with":
        return text.startswith(value)
    if operation == "ends with":
        return text.endswith(value)
    if operation == "is empty":
        return _php_empty(current)
    if operation == "is not empty":
        return not _php_empty(current)
    if operation == "has changed":
        # VTEntityDelta::hasChanged: false when there is no old entity, i.e. always on create.
        changed = False
        if not run.is_new and name in run.delta:
            pair = run.delta[name]
            changed = html.unescape(pair["oldValue"]) != html.unescape(pair["currentValue"])
        return changed and (not value or _php_equal(current, value))
    raise ValueError(f"the sandbox does not evaluate the workflow condition {operation!r}")


def evaluate(test: str | list[Any] | None, run: WorkflowRun) -> bool:
    """VTJsonCondition::evaluate: conditions joined within their group, then groups joined."""
    expr = json.loads(test) if isinstance(test, str) and test else test
    if not isinstance(expr, list):
        return True
    results: dict[str, dict[int, dict[str, Any]]] = {}
    group_ops: dict[str, str] = {}
    for i, cond in enumerate(expr):
        group = str(cond.get("groupid") or "0")
        entries = results.setdefault(group, {})
        entries.setdefault(i, {})["result"] = check_condition(cond, run)
        entries.setdefault(i + 1, {})["op"] = cond.get("joincondition") or "and"
        group_ops[group] = cond.get("groupjoin") or "and"
    final = True
    for group, entries in results.items():
        group_result = True
        for entry in entries.values():
            if "result" not in entry:
                continue
            op = entry.get("op")
            if not op:
                group_result = entry["result"]
            elif op == "and":
                group_result = group_result and entry["result"]
            elif op == "or":
                group_result = group_result or entry["result"]
        op = group_ops[group]
        final = (final and group_result) if op == "and" else (final or group_result) if op == "or" else final
    return final


class Workflows:
    """The workflows registered on one sandbox, in the order they were added (vtiger runs them by id)."""

    def __init__(self) -> None:
        self._items: list[Workflow] = []

    def add(self, workflow: Workflow) -> Workflow:
        self._items.append(workflow)
        return workflow

    def clear(self) -> None:
        self._items.clear()

    def for_module(self, module: str) -> list[Workflow]:
        return [w for w in self._items if w.module == module]

    def fire(
        self,
        module: str,
        record_id: str,
        before: Mapping[str, str] | None,
        after: Mapping[str, str],
        *,
        committed: bool,
        request: RequestScope,
    ) -> int:
        """Run the matching workflows' tasks for one save; returns how many workflows ran."""
        data = decode_html(after)
        delta = entity_delta(before, after)
        is_new = before is None
        ran = 0
        for workflow in self.for_module(module):
            run = WorkflowRun(workflow, module, record_id, data, delta, is_new, committed, request)
            mode = workflow.execution_condition
            if mode == ON_FIRST_SAVE:
                due = is_new
            elif mode == ONCE:
                due = run.crmid not in workflow.done_for
            elif mode == ON_EVERY_SAVE:
                due = True
            elif mode == ON_MODIFY:
                due = not is_new
            else:  # scheduled and manual workflows never run on a save
                due = False
            if not due or not evaluate(workflow.test, run):
                continue
            if mode == ONCE:
                workflow.done_for.add(run.crmid)
            for task in workflow.tasks:
                task(run)
            ran += 1
        return ran
