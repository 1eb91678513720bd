"""Promises about the project itself: the README's commands, CI, and the layering rule."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text)


def test_readme_starts_with_two_commands_run_and_test() -> None:
    commands = _readme_commands()
    assert len(commands) >= 2
    run, test = commands[0], commands[1]
    assert "run_bridge.py demo" in run
    assert "pytest" in test


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = _readme_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()
    assert "ruff check ." in ci.splitlines()
    assert "ruff format --check ." in ci.splitlines()
    assert "mypy" in ci.splitlines()  # strict, over the packages named in pyproject.toml


def _imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_vtiger_ws_imports_only_itself_and_libraries() -> None:
    for path in (ROOT / "vtiger_ws").rglob("*.py"):
        assert not _imported_top_levels(path) & {"bridge", "providers", "sandbox"}, path


def test_providers_never_import_bridge_or_sandbox() -> None:
    for path in (ROOT / "providers").rglob("*.py"):
        assert not _imported_top_levels(path) & {"bridge", "sandbox", "vtiger_ws"}, path


def test_sandbox_never_imports_bridge() -> None:
    for path in (ROOT / "sandbox").rglob("*.py"):
        assert "bridge" not in _imported_top_levels(path), path


def _crm_door_breaches(path: Path) -> list[str]:
    """Where `path` imports `vtiger_ws` or reaches through a `.client` attribute (`x.client.y`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "vtiger_ws" for a in node.names):
            found.append(f"{path}:{node.lineno} imports vtiger_ws")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "vtiger_ws":
            found.append(f"{path}:{node.lineno} imports from vtiger_ws")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "client"
        ):
            found.append(f"{path}:{node.lineno} uses .client.{node.attr}")
    return found


def test_the_crm_is_reached_only_through_bridge_crm() -> None:
    """`bridge/crm/` is the one door into vtiger: no other module of the bridge holds the webservice
    client."""
    door = ROOT / "bridge" / "crm"
    breaches = [
        b
        for path in sorted((ROOT / "bridge").rglob("*.py"))
        if door not in path.parents
        for b in _crm_door_breaches(path)
    ]
    assert breaches == []


def test_the_door_test_sees_a_breach(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "import vtiger_ws.vtql\nfrom vtiger_ws import VtigerClient\nx = crm.client.retrieve('1x1')\n"
    )
    assert len(_crm_door_breaches(sneaky)) == 3


# What each room of the bridge may import (docs/architecture.md, "The rooms"); its own room is always allowed.
ROOM_IMPORTS: dict[str, set[str]] = {
    "crm": {"vtiger_ws", "providers"},
    "config": {"crm"},
    "store": set(),
    "services": {"crm", "store", "config", "providers"},
    "webhook": {"services", "crm", "store", "config", "providers"},
    "daemon": {"webhook", "services", "crm", "store", "config", "providers", "exits"},
    "cli": {"daemon", "webhook", "services", "crm", "store", "config", "providers", "exits", "sandbox"},
}


def _rooms_imported(path: Path) -> set[str]:
    rooms = set()
    for name in _imported_modules(path):
        parts = name.split(".")
        if parts[0] == "bridge" and len(parts) > 1:
            rooms.add(parts[1])
        elif parts[0] in ("vtiger_ws", "providers", "sandbox"):
            rooms.add(parts[0])
    return rooms


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_each_room_of_the_bridge_imports_only_the_rooms_below_it() -> None:
    wrong = []
    for room, allowed in ROOM_IMPORTS.items():
        for path in sorted((ROOT / "bridge" / room).rglob("*.py")):
            extra = _rooms_imported(path) - allowed - {room}
            if extra:
                wrong.append(f"{path.relative_to(ROOT)} imports {sorted(extra)}")
    assert wrong == []
    assert {
        p.name for p in (ROOT / "bridge").iterdir() if p.is_dir() and (p / "__init__.py").exists()
    } == set(ROOM_IMPORTS)
