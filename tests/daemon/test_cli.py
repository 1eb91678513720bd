"""The command line: demo, check, exit codes, plugin instructions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli.main import main
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import write_config

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_real_daemon_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "run_bridge.py", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "11 of 11 checks passed" in done.stdout


def test_check_passes_on_a_good_setup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        code = main(["-c", str(write_config(tmp_path, crm, vk)), "check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "vtiger login" in out and "vk token" in out


def test_check_catches_a_wrong_access_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        code = main(["-c", str(write_config(tmp_path, crm, vk, access_key="wrongKey12345678")), "check"])
    out = capsys.readouterr().out
    assert code == 3
    assert "vtiger login" in out and "FAILED" in out
    assert "wrongKey12345678" not in out


def test_check_catches_a_missing_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra = "fields: {profile_map: {Contacts: {first_name: firstname, city: nickname_city}}}\n"
    with VtigerSandbox() as crm, VkSandbox() as vk:
        code = main(["-c", str(write_config(tmp_path, crm, vk, extra=extra)), "check"])
    out = capsys.readouterr().out
    assert code == 3
    assert "Contacts.nickname_city" in out


def test_check_catches_a_revoked_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        path = write_config(tmp_path, crm, vk)
        vk.revoke_token(vk.community_token)
        code = main(["-c", str(path), "check"])
        token = vk.community_token
    out = capsys.readouterr().out
    assert code == 3 and "vk token" in out and "FAILED" in out
    assert token not in out


def test_config_error_has_its_own_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("version: 1\nvtiger: {url: 42}\n", encoding="utf-8")
    assert main(["-c", str(path), "check"]) == 78
    assert "vtiger.url" in capsys.readouterr().err


def test_plugin_prints_where_the_files_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugin"]) == 0
    assert str(ROOT / "vtiger_plugin") in capsys.readouterr().out


def test_send_and_import_profile_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        uid = vk.add_user("Cli", "User", screen_name="cli_user", city="Пермь")
        record = crm.seed(
            "Contacts", {"lastname": "User", "assigned_user_id": "19x1", "vk_url": "https://vk.com/cli_user"}
        )
        path = str(write_config(tmp_path, crm, vk))
        assert main(["-c", path, "import-profile", record, "--dry-run"]) == 0
        assert crm.get(record)["mailingcity"] == ""  # type: ignore[index]
        assert main(["-c", path, "import-profile", record]) == 0
        assert crm.get(record)["mailingcity"] == "Пермь"  # type: ignore[index]
        assert main(["-c", path, "send", record, "--text", "hello from the CLI"]) == 0
        assert len(vk.delivered_to(uid)) == 1
        assert main(["-c", path, "send", "--where", "mailingcity = 'Пермь'", "--text", "to a filter"]) == 0
        assert len(vk.delivered_to(uid)) == 2
        assert main(["-c", path, "status"]) == 0
    out = capsys.readouterr().out
    assert "would write mailingcity = Пермь" in out
    assert "outbox: 0 unfinished" in out


def test_send_filter_is_validated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        code = main(
            ["-c", str(write_config(tmp_path, crm, vk)), "send", "--where", "1=1 OR 1", "--text", "x"]
        )
    assert code == 2
    assert "cannot read the condition" in capsys.readouterr().err


def test_sending_to_more_than_50_records_asks_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        uids = []
        for n in range(51):
            uids.append(vk.add_user(f"Many{n}", "People", screen_name=f"many_people_{n}"))
            crm.seed(
                "Contacts",
                {
                    "lastname": "People",
                    "assigned_user_id": "19x1",
                    "mailingcity": "Тверь",
                    "vk_url": f"https://vk.com/many_people_{n}",
                },
            )
        path = str(write_config(tmp_path, crm, vk))
        monkeypatch.setattr("builtins.input", lambda prompt: "n")
        assert main(["-c", path, "send", "--where", "mailingcity = 'Тверь'", "--text", "hi all"]) == 0
        assert vk.count("messages.send") == 0
        monkeypatch.setattr("builtins.input", lambda prompt: "y")
        assert main(["-c", path, "send", "--where", "mailingcity = 'Тверь'", "--text", "hi all"]) == 0
        # Deliveries, not requests: a request VK answers with error 6 is repeated under the same random_id.
        assert [len(vk.delivered_to(uid)) for uid in uids] == [1] * 51
        assert len(crm.records("SPSocialConnector")) == 51
    assert "nothing sent" in capsys.readouterr().out
