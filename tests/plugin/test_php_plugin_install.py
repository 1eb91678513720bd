"""install.php against a stub vtiger root whose VTEntityMethodManager records every call."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "vtiger_plugin"
PHP = shutil.which("php")

if PHP is None:
    if os.environ.get("CI"):
        raise RuntimeError("php-cli is required in CI (apt-get install -y php-cli php-curl)")
    pytest.skip("php is not installed", allow_module_level=True)

LABELS = {
    "Social bridge: send message": "socialbridge_send",
    "Social bridge: import profile": "socialbridge_import_profile",
    "Social bridge: record saved": "socialbridge_record_saved",
    "Social bridge: invitation to Telegram/MAX": "socialbridge_invite",
}
LABELS_RU = {
    "Соцсети: отправить сообщение": "socialbridge_send",
    "Соцсети: заполнить карточку из профиля": "socialbridge_import_profile",
    "Соцсети: запись сохранена": "socialbridge_record_saved",
    "Соцсети: приглашение в Telegram/MAX": "socialbridge_invite",
}
MODULES = ("Contacts", "Accounts", "Leads")

_STUB_MANAGER = """<?php
class VTEntityMethodManager {
    private $adb;
    function __construct($adb) { $this->adb = $adb; }
    private function record($call) {
        $file = getenv('SOCIALBRIDGE_CALLS');
        file_put_contents($file, json_encode($call) . "\\n", FILE_APPEND);
    }
    function addEntityMethod($moduleName, $methodName, $functionPath, $functionName) {
        $this->record(array('add', $moduleName, $methodName, $functionPath, $functionName, $this->adb));
    }
    function removeEntityMethod($moduleName, $methodName) {
        $this->record(array('remove', $moduleName, $methodName));
    }
}
"""
_STUB_UTILS = """<?php
class PearDatabase { static function getInstance() { return 'adb-instance'; } }
"""


@pytest.fixture
def vtiger_root(tmp_path: Path) -> Path:
    root = tmp_path / "vtiger"
    (root / "modules" / "com_vtiger_workflow").mkdir(parents=True)
    (root / "include" / "utils").mkdir(parents=True)
    (root / "modules" / "com_vtiger_workflow" / "VTEntityMethodManager.inc").write_text(_STUB_MANAGER)
    (root / "include" / "utils" / "utils.php").write_text(_STUB_UTILS)
    (root / "config.inc.php").write_text("<?php\n$dbconfig = array();\n")
    shutil.copytree(PLUGIN, root / "modules" / "SocialBridge")
    return root


def _run(cwd: Path, script: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    calls = script.parents[2].parent / "calls.jsonl"
    calls.unlink(missing_ok=True)
    env = {**os.environ, "SOCIALBRIDGE_CALLS": str(calls)}
    done = subprocess.run(
        [PHP or "php", str(script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    recorded = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    return done, recorded


def test_install_registers_its_functions_for_three_modules(vtiger_root: Path) -> None:
    script = vtiger_root / "modules" / "SocialBridge" / "install.php"
    done, calls = _run(vtiger_root, script)
    assert done.returncode == 0, done.stderr
    adds = [c for c in calls if c[0] == "add"]
    expected = [
        ["add", m, label, "modules/SocialBridge/SocialBridge.php", fn, "adb-instance"]
        for m in MODULES
        for label, fn in LABELS.items()
    ]
    assert adds == expected
    # each add is preceded by a remove of the same (module, label): re-running is harmless
    for i, call in enumerate(calls):
        if call[0] == "add":
            assert calls[i - 1] == ["remove", call[1], call[2]]
    assert "socialbridge.config.php is missing" in done.stderr  # a warning, not a failure


def test_uninstall_removes_them_in_every_language(vtiger_root: Path) -> None:
    script = vtiger_root / "modules" / "SocialBridge" / "install.php"
    done, calls = _run(vtiger_root, script, "--uninstall")
    assert done.returncode == 0, done.stderr
    assert calls == [["remove", m, label] for m in MODULES for label in {**LABELS, **LABELS_RU}]


def test_a_russian_crm_gets_russian_labels(vtiger_root: Path) -> None:
    """SalesPlatform's config.inc.php sets $default_language = 'ru_ru': the workflow editor then lists
    the functions in Russian (vtiger shows a custom function's label as registered)."""
    (vtiger_root / "config.inc.php").write_text("<?php\n$dbconfig = array();\n$default_language = 'ru_ru';\n")
    script = vtiger_root / "modules" / "SocialBridge" / "install.php"
    done, calls = _run(vtiger_root, script)
    assert done.returncode == 0, done.stderr
    adds = [(c[1], c[2], c[4]) for c in calls if c[0] == "add"]
    assert adds == [(m, label, fn) for m in MODULES for label, fn in LABELS_RU.items()]
    assert "Соцсети: отправить сообщение" in done.stdout


def test_the_language_can_be_chosen_and_an_unknown_one_falls_back_to_english(vtiger_root: Path) -> None:
    script = vtiger_root / "modules" / "SocialBridge" / "install.php"
    done, calls = _run(vtiger_root, script, "--language=ru_ru")
    assert done.returncode == 0, done.stderr
    assert {c[2] for c in calls if c[0] == "add"} == set(LABELS_RU)
    done, calls = _run(vtiger_root, script, "--language=de_de")
    assert done.returncode == 0, done.stderr
    assert {c[2] for c in calls if c[0] == "add"} == set(LABELS)


def test_install_started_from_the_plugin_folder_finds_the_root(vtiger_root: Path) -> None:
    plugin_dir = vtiger_root / "modules" / "SocialBridge"
    (plugin_dir / "socialbridge.config.php").write_text("<?php return array();\n")
    done, calls = _run(plugin_dir, plugin_dir / "install.php")
    assert done.returncode == 0, done.stderr
    assert {c[3] for c in calls if c[0] == "add"} == {"modules/SocialBridge/SocialBridge.php"}
    assert done.stderr == ""


def test_install_outside_a_vtiger_root_fails_without_registering(tmp_path: Path) -> None:
    shutil.copytree(PLUGIN, tmp_path / "a" / "b" / "SocialBridge")
    script = tmp_path / "a" / "b" / "SocialBridge" / "install.php"
    done, calls = _run(tmp_path, script)
    assert done.returncode == 2 and "vtiger root" in done.stderr and calls == []


def test_unknown_argument_is_refused(vtiger_root: Path) -> None:
    done, calls = _run(vtiger_root, vtiger_root / "modules" / "SocialBridge" / "install.php", "--force")
    assert done.returncode == 2 and "usage" in done.stderr and calls == []
