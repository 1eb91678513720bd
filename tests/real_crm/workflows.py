"""Workflows in the real vtiger, stored by vtiger's own classes (tests/real_crm/workflows.php)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .realenv import RealEnvError, RealVtiger

SCRIPT = Path(__file__).with_name("workflows.php")

# VTWorkflowManager's execution conditions (the editor's "Workflow Trigger").
ON_FIRST_SAVE = 1
ONCE = 2
ON_EVERY_SAVE = 3
ON_MODIFY = 4

# The plugin's functions; workflows.php stores the label install.php registered for each (in the CRM's
# language: "Соцсети: заполнить карточку из профиля" on a ru_ru SalesPlatform).
IMPORT_PROFILE = "socialbridge_import_profile"
SEND_MESSAGE = "socialbridge_send"
RECORD_SAVED = "socialbridge_record_saved"


def condition(field: str, operation: str, value: str = "", *, join: str = "") -> dict[str, str]:
    """One row of the editor's "All conditions" group, e.g. condition("vk_url", "has changed")."""
    return {
        "fieldname": field,
        "operation": operation,
        "value": value,
        "valuetype": "rawtext",
        "joincondition": join,
        "groupjoin": "and",
        "groupid": "0",
    }


def has_changed(field: str) -> list[dict[str, str]]:
    return [condition(field, "has changed")]


def is_not_empty(field: str) -> list[dict[str, str]]:
    return [condition(field, "is not empty")]


class Workflows:
    """Creates workflows and deletes every one it created (call delete_created() in teardown)."""

    def __init__(self, real: RealVtiger) -> None:
        self.real = real
        self.created: list[int] = []

    def _php(self, *args: str, stdin: str = "") -> str:
        done = self.real.php_run(SCRIPT, args, stdin=stdin)
        if done.returncode != 0:
            raise RealEnvError(f"workflows.php {args[0]} failed: {done.stderr.strip()[-500:]}")
        return done.stdout

    def create(
        self,
        module: str,
        method: str,
        *,
        conditions: list[dict[str, str]] | None = None,
        execution: int = ON_EVERY_SAVE,
        name: str | None = None,
    ) -> int:
        """A workflow on `module` whose one task is "Invoke Custom Function" `method`; returns its id."""
        spec = {
            "module": module,
            "method": method,
            "conditions": conditions or [],
            "execution_condition": execution,
            "name": name or f"real-crm test: {method}",
        }
        answer = json.loads(self._php("create", stdin=json.dumps(spec)))
        self.created.append(int(answer["workflow_id"]))
        return int(answer["workflow_id"])

    def list(self, module: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = json.loads(self._php("list", module))
        return result

    def delete(self, *workflow_ids: int) -> None:
        if workflow_ids:
            self._php("delete", *map(str, workflow_ids))
        self.created = [w for w in self.created if w not in workflow_ids]

    def delete_created(self) -> None:
        self.delete(*self.created)
