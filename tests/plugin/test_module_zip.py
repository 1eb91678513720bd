"""The vtiger module package (`vtiger-social-bridge module-zip`): what vtlib's import needs is in the zip,
nothing private is, every PHP file parses with Debian's php-cli, the texts exist in both languages, and the
schema it creates on a plain vtiger is the one the bridge checks for. Installing it into a real vtiger
(Module Manager, in a browser) is tests/real_crm/test_module.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from bridge.cli.main import main
from bridge.cli.module_zip import build, entries
from bridge.config import FieldsConfig, MessagesConfig
from bridge.webhook.status import package_version

PHP = shutil.which("php")
if PHP is None:
    if os.environ.get("CI"):
        raise RuntimeError("php-cli is required in CI (apt-get install -y php-cli php-curl)")
    pytest.skip("php is not installed", allow_module_level=True)

REQUIRED = (
    "manifest.xml",
    "modules/SocialBridge/SocialBridge.php",  # the module class (vtlib_handler), the workflow functions
    "modules/SocialBridge/crm_schema.json",
    "modules/SocialBridge/actions/RecordAction.php",
    "modules/SocialBridge/views/SendForm.php",
    "modules/SocialBridge/messages/SPSocialConnector.php",
    "languages/en_us/SocialBridge.php",  # vtlib's checkZip looks for languages/en_us/<module>.php
    "languages/ru_ru/SocialBridge.php",
    "languages/en_us/Settings/SocialBridge.php",
    "languages/ru_ru/Settings/SocialBridge.php",
    "settings/views/Index.php",  # unpacked to modules/Settings/SocialBridge/
    "settings/views/Status.php",
    "settings/actions/Save.php",
    "layouts/v7/modules/SocialBridge/resources/SocialBridge.js",
    "layouts/v7/modules/Settings/SocialBridge/Index.tpl",
)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("zip") / "SocialBridge.zip")


@pytest.fixture(scope="module")
def unpacked(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(package) as archive:
        archive.extractall(target)
    return target


def test_the_zip_holds_what_vtlib_imports_and_nothing_private(package: Path, tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    shutil.copytree(Path(__file__).resolve().parents[2] / "vtiger_plugin", plugin)
    (plugin / "socialbridge.config.php").write_text("<?php return array('secret' => 'do-not-ship-me');\n")
    (plugin / "logs" / "socialbridge.log").write_text("a log line\n")
    (plugin / "logs" / "socialbridge.spool").write_text('{"event_id": "x"}\n')
    names = set(entries(plugin, "1.2.3"))
    assert set(REQUIRED) <= names
    assert not [n for n in names if n.endswith((".log", ".spool", "socialbridge.config.php", "README.md"))]
    assert not [n for n in names if n.startswith("modules/SocialBridge/package/")]
    with zipfile.ZipFile(package) as archive:
        assert archive.testzip() is None
        assert set(REQUIRED) <= set(archive.namelist())


def test_the_manifest_is_a_valid_vtlib_extension_manifest(package: Path) -> None:
    with zipfile.ZipFile(package) as archive:
        root = ET.fromstring(archive.read("manifest.xml"))
    assert root.tag == "module"
    assert (root.findtext("name"), root.findtext("type")) == ("SocialBridge", "extension")
    assert root.findtext("version") == package_version().split("+")[0]
    assert root.findtext("dependencies/vtiger_version") == "7.0.0"  # vtlib refuses a package without it
    assert "@" not in ET.tostring(root, encoding="unicode")  # every placeholder filled
    assert root.findtext("license/inline")


def test_every_php_file_parses_with_php_cli(unpacked: Path) -> None:
    files = sorted(unpacked.rglob("*.php"))
    assert len(files) > 20
    for path in files:
        done = subprocess.run([PHP or "php", "-l", str(path)], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr


def _strings(path: Path) -> dict[str, dict[str, str]]:
    code = (
        "include $argv[1]; echo json_encode(array('languageStrings' => $languageStrings,"
        " 'jsLanguageStrings' => $jsLanguageStrings));"
    )
    done = subprocess.run([PHP or "php", "-r", code, str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # json_encode writes an empty array as []
    found: dict[str, dict[str, str]] = {k: v or {} for k, v in json.loads(done.stdout).items()}
    return found


@pytest.mark.parametrize("name", ["SocialBridge.php", "Settings/SocialBridge.php"])
def test_russian_and_english_texts_have_the_same_keys(unpacked: Path, name: str) -> None:
    en = _strings(unpacked / "languages" / "en_us" / name)
    ru = _strings(unpacked / "languages" / "ru_ru" / name)
    for kind in ("languageStrings", "jsLanguageStrings"):
        assert set(en[kind]) == set(ru[kind])
        assert all(value.strip() for value in ru[kind].values())


def test_every_text_key_the_templates_and_code_use_exists(unpacked: Path) -> None:
    import re

    settings = _strings(unpacked / "languages" / "en_us" / "Settings" / "SocialBridge.php")["languageStrings"]
    module = _strings(unpacked / "languages" / "en_us" / "SocialBridge.php")["languageStrings"]
    used_settings = set(
        re.findall(
            r"'(LBL_[A-Z_]+)'",
            "".join(
                p.read_text() for p in (unpacked / "layouts" / "v7" / "modules" / "Settings").rglob("*.tpl")
            ),
        )
    )
    used_settings |= set(
        re.findall(
            r"notice=(LBL_[A-Z_]+)", "".join(p.read_text() for p in (unpacked / "settings").rglob("*.php"))
        )
    )
    used_settings.discard("LBL_STATE_")  # Status.tpl: LBL_STATE_<state>, the states of views/Status.php
    used_settings |= {f"LBL_STATE_{s}" for s in ("not_set_up", "down", "secret", "old_bridge", "error")}
    assert used_settings - set(settings) == set()
    used_module = set(
        re.findall(
            r"'(LBL_[A-Z_]+)'",
            "".join(
                p.read_text()
                for p in [
                    *(unpacked / "modules" / "SocialBridge").rglob("*.php"),
                    *(unpacked / "layouts" / "v7" / "modules" / "SocialBridge").rglob("*.tpl"),
                ]
            ),
        )
    )
    vtiger_own = {
        "LBL_INTEGRATION",
        "LBL_OTHER_SETTINGS",
        "LBL_PERMISSION_DENIED",  # vtiger's, not ours
        "LBL_SPSOCIALCONNECTOR_INFORMATION",
    }  # the messages module's block: messages/languages/
    assert used_module - vtiger_own - set(module) == set()


def test_the_schema_it_creates_is_the_one_the_bridge_checks() -> None:
    path = Path(__file__).resolve().parents[2] / "vtiger_plugin" / "crm_schema.json"
    schema = json.loads(path.read_text())
    messages = schema["messages_module"]
    fields = {f["name"]: f for f in messages["fields"]}
    config = MessagesConfig()
    assert messages["name"] == config.module
    # bridge/crm/schema.py check_schema: these must exist, and the statuses and ids of VK and X
    assert {"message", "assigned_user_id", "message_datetime", "type"} <= set(fields)
    for network in ("vk", "x", "telegram", "max"):
        assert config.status_fields[network] in fields and config.id_fields[network] in fields
        assert {config.status_sent, config.status_not_sent, config.status_received} <= set(
            fields[config.status_fields[network]]["picklist"]
        )
    for network in ("telegram", "max"):  # a send the bridge must not repeat is shown as such
        assert config.status_unknown in fields[config.status_fields[network]]["picklist"]
    assert {config.type_outbound, config.type_inbound} == set(fields["type"]["picklist"])
    assert set(messages["related_to"]) == {"Contacts", "Accounts", "Leads"}
    urls = {f["name"]: f for f in schema["client_fields"]}
    defaults = FieldsConfig().url_fields
    assert {defaults["vk"], defaults["x"], defaults["telegram"], defaults["max"]} == set(urls)
    # as SalesPlatform's: URL fields of 155 characters
    assert all(f["column_type"] == "VARCHAR(155)" for f in urls.values())
    assert urls["vk_url"]["uitype"] == urls["tw_url"]["uitype"] == 17
    assert {urls["vk_url"]["label"], urls["tw_url"]["label"]} == {"Vkontakte URL", "Twitter URL"}
    # the bots' fields hold a linked account (tg://user?id=..., a MAX user id): text, labelled per language
    for name in (defaults["telegram"], defaults["max"]):
        assert urls[name]["uitype"] == 1
        assert set(urls[name]["labels"]) == {"en_us", "ru_ru"}
    assert urls["tg_url"]["labels"]["ru_ru"] == "Аккаунт Telegram"


def test_module_zip_command_writes_the_zip_and_refuses_an_unwritable_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["module-zip", "-o", str(tmp_path)]) == 0
    [written] = list(tmp_path.glob("SocialBridge-*.zip"))
    assert zipfile.is_zipfile(written) and str(written) in capsys.readouterr().out
    code = main(["module-zip", "-o", str(tmp_path / "missing-folder" / "x.zip")])
    err = capsys.readouterr().err
    assert code == 78 and err.count("\n") == 1 and "cannot write the module zip" in err
