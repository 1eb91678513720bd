"""One case per row of the README's exit-code table (and per failure issue 11 listed): each mistake a user
can make ends in one clear line naming the cause, and its documented exit code, never a traceback.

Commands run as real processes (`python run_bridge.py ...`) against the sandboxes, so what is checked is
exactly what an administrator sees on the terminal or in `systemctl status`.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge import exits
from bridge.cli.main import main
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import Daemon, wait_for, write_config

ROOT = Path(__file__).resolve().parents[2]
NOBODY = 65534


def run_cli(
    *args: str,
    stdin: int | None = subprocess.DEVNULL,
    unprivileged: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python run_bridge.py ARGS`. `unprivileged`: as root, without the right to write into folders of
    other users (what an ordinary user meets on a first run); needs `setpriv` (util-linux)."""
    prefix: list[str] = []
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is missing: cannot act as an ordinary user")
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]
    return subprocess.run(
        [*prefix, sys.executable, "run_bridge.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=stdin,
        env={**os.environ, **(env or {})},
    )


def locked_folder(tmp_path: Path) -> Path:
    """A folder the test's user may read but not write into (owned by someone else when run as root)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
    folder.chmod(0o555)
    return folder


def one_clear_line(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The output holds no traceback and the error line names every needle; returns that line."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if all(n in line for n in needles)]
    assert lines, f"no line with {needles} in:\n{output}"
    return lines[-1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def world() -> Iterator[tuple[VtigerSandbox, VkSandbox]]:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        yield crm, vk


def test_the_readme_table_lists_exactly_the_codes_the_bridge_uses() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    documented = [int(code) for code in re.findall(r"^\| (\d+) \|", section, re.MULTILINE)]
    assert documented == [code for code, _ in exits.TABLE]


# --- 0 -----------------------------------------------------------------------------------------------
def test_0_check_of_a_good_setup(world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path) -> None:
    crm, vk = world
    done = run_cli("-c", str(write_config(tmp_path, crm, vk)), "check")
    assert done.returncode == exits.EXIT_OK, done.stdout + done.stderr


# --- 1 -----------------------------------------------------------------------------------------------
def test_1_a_bug_keeps_its_traceback_in_the_log(
    world: tuple[VtigerSandbox, VkSandbox],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    crm, vk = world

    def broken(config: object, args: object) -> int:
        raise RuntimeError("a bug in the bridge")

    monkeypatch.setattr("bridge.cli.commands.cmd_check", broken)  # the only way to have a bug on purpose
    assert main(["-c", str(write_config(tmp_path, crm, vk)), "check"]) == exits.EXIT_CRASH
    assert any("RuntimeError: a bug in the bridge" in (r.exc_text or "") for r in caplog.records)


# --- 2 -----------------------------------------------------------------------------------------------
def test_2_import_profile_of_a_record_that_does_not_exist(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    done = run_cli("-c", str(write_config(tmp_path, crm, vk)), "import-profile", "12x99999")
    assert done.returncode == exits.EXIT_USAGE
    one_clear_line(done, "no record 12x99999 in the CRM")


def test_2_a_bare_record_number_says_how_to_use_it_and_works_with_module(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    vk.add_user("Number", "Person", screen_name="number_person", city="Калуга")
    record = crm.seed("Contacts", {"lastname": "Person", "vk_url": "https://vk.com/number_person"})
    number = record.split("x")[1]
    config = str(write_config(tmp_path, crm, vk))
    done = run_cli("-c", config, "import-profile", number)
    assert done.returncode == exits.EXIT_USAGE
    one_clear_line(done, f"record={number}", "--module Contacts", record)
    done = run_cli("-c", config, "import-profile", number, "--module", "Contacts")
    assert done.returncode == exits.EXIT_OK, done.stdout + done.stderr
    assert crm.get(record)["mailingcity"] == "Калуга"  # type: ignore[index]
    # ... and so does the record's address, copied from the browser
    address = f"https://crm.example.com/index.php?module=Contacts&view=Detail&record={number}&app=MARKETING"
    done = run_cli("-c", config, "import-profile", address, "--dry-run")
    assert done.returncode == exits.EXIT_OK, done.stdout + done.stderr


def test_2_a_filter_on_a_field_that_does_not_exist_names_the_fields_meant(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    config = str(write_config(tmp_path, crm, vk))
    done = run_cli("-c", config, "send", "--where", "city = 'X'", "--text", "hi")
    assert done.returncode == exits.EXIT_USAGE
    one_clear_line(done, "Contacts has no field 'city'", "mailingcity")
    assert "ACCESS_DENIED" not in done.stderr  # vtiger's answer would read like a permission problem


def test_2_more_than_50_records_without_a_terminal_asks_for_yes(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    for n in range(51):
        vk.add_user(f"Many{n}", "People", screen_name=f"many_{n}")
        crm.seed(
            "Contacts", {"lastname": "People", "mailingcity": "Тверь", "vk_url": f"https://vk.com/many_{n}"}
        )
    done = run_cli(
        "-c",
        str(write_config(tmp_path, crm, vk)),
        "send",
        "--where",
        "mailingcity = 'Тверь'",
        "--text",
        "hi all",
    )
    assert done.returncode == exits.EXIT_USAGE
    one_clear_line(done, "no terminal", "--yes")
    assert vk.count("messages.send") == 0


# --- 3 -----------------------------------------------------------------------------------------------
def test_3_run_with_a_wrong_access_key(world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path) -> None:
    crm, vk = world
    done = run_cli("-c", str(write_config(tmp_path, crm, vk, access_key="wrongKey12345678")), "run")
    assert done.returncode == exits.EXIT_STARTUP
    line = one_clear_line(done, "refused the login", "vtiger.access_key")
    assert "wrongKey12345678" not in done.stderr
    assert "concurrent" not in done.stderr  # the login's retry rounds are no news before this line
    assert done.stderr.rstrip().endswith(line)  # the reason is the last line systemctl status shows


def test_3_check_names_a_wrong_group_id(world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path) -> None:
    crm, vk = world
    config = write_config(tmp_path, crm, vk)
    config.write_text(config.read_text().replace(f"group_id: {vk.group_id}", "group_id: 12345"))
    done = run_cli("-c", str(config), "check")
    assert done.returncode == exits.EXIT_STARTUP
    line = one_clear_line(done, "vk token", "FAILED")
    assert f"group_id is 12345, but this token belongs to the community {vk.group_id}" in line
    assert "use a community access key" not in line


def test_3_check_names_a_wrong_api_url(world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path) -> None:
    crm, vk = world
    config = write_config(tmp_path, crm, vk)
    config.write_text(config.read_text().replace(vk.url, f"{crm.url}/vk/method/"))  # a web server, not VK
    done = run_cli("-c", str(config), "check")
    assert done.returncode == exits.EXIT_STARTUP
    line = one_clear_line(done, "vk token", "FAILED", "networks.vk.api_url")
    assert "try again later" not in line


def test_3_check_names_a_wrong_access_key_without_noise(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    done = run_cli("-c", str(write_config(tmp_path, crm, vk, access_key="wrongKey12345678")), "check")
    assert done.returncode == exits.EXIT_STARTUP
    one_clear_line(done, "vtiger login", "FAILED", "access key")
    assert done.stderr == ""  # no "concurrent login" lines before the table


# --- 4 -----------------------------------------------------------------------------------------------
def test_4_import_profile_that_fails_for_the_record(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    record = crm.seed("Contacts", {"lastname": "Nolink"})
    done = run_cli("-c", str(write_config(tmp_path, crm, vk)), "import-profile", record)
    assert done.returncode == exits.EXIT_RECORDS
    one_clear_line(done, "no social profile link")


# --- 69 ----------------------------------------------------------------------------------------------
def test_69_run_while_the_crm_cannot_be_reached(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    config = write_config(tmp_path, crm, vk)
    config.write_text(config.read_text().replace(crm.url, f"http://127.0.0.1:{closed_port()}"))
    done = run_cli("-c", str(config), "run")
    assert done.returncode == exits.EXIT_UNAVAILABLE
    one_clear_line(done, "cannot reach the CRM", "vtiger.url")


# --- 73 ---------------------------------------------------------------------------------------------
def test_73_the_state_folder_of_a_first_run_is_not_writable(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    state = locked_folder(tmp_path) / "vtiger-social-bridge" / "state.sqlite3"  # as /var/lib/... for a user
    config = write_config(tmp_path, crm, vk)
    config.write_text(config.read_text().replace(str(tmp_path / "state.sqlite3"), str(state)))
    done = run_cli("-c", str(config), "run", unprivileged=True)
    assert done.returncode == exits.EXIT_CANTCREAT, done.stderr
    one_clear_line(done, "cannot create the state store", str(state.parent), "sudo install -d -o")
    assert not state.parent.exists()


def test_73_the_log_file_is_not_writable(world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path) -> None:
    crm, vk = world
    log_file = locked_folder(tmp_path) / "bridge.log"
    config = write_config(tmp_path, crm, vk, extra=f'logging: {{file: "{log_file}"}}\n')
    done = run_cli("-c", str(config), "check", unprivileged=True)
    assert done.returncode == exits.EXIT_CANTCREAT
    one_clear_line(done, f"cannot write the log file {log_file}", "logging.file")


# --- 75 ----------------------------------------------------------------------------------------------
def test_75_the_webhook_port_is_in_use(world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path) -> None:
    crm, vk = world
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, crm, vk)
        config.write_text(config.read_text().replace("port: 0", f"port: {port}"))
        done = run_cli("-c", str(config), "run")
    assert done.returncode == exits.EXIT_TEMPFAIL
    one_clear_line(done, f"port 127.0.0.1:{port} is already in use", "webhook.port")


def test_75_a_second_daemon_on_the_same_state_file(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    crm, vk = world
    config = write_config(tmp_path, crm, vk)
    with Daemon(config) as first:
        done = run_cli("-c", str(config), "run")
        assert done.returncode == exits.EXIT_TEMPFAIL
        line = one_clear_line(done, "already runs on the state file")
        assert f"pid {first.pid}" in line and "running since" in line
        assert first.proc.poll() is None  # the first one is left alone
        assert first.terminate() == 0


# --- 78 ----------------------------------------------------------------------------------------------
def test_78_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("version: 1\nvtiger: {url: 42}\n", encoding="utf-8")
    done = run_cli("-c", str(path), "run")
    assert done.returncode == exits.EXIT_CONFIG
    one_clear_line(done, "vtiger.url")


def test_a_second_daemon_starts_once_the_first_is_gone(
    world: tuple[VtigerSandbox, VkSandbox], tmp_path: Path
) -> None:
    """The lock dies with its process: a killed daemon leaves nothing that blocks the next start."""
    crm, vk = world
    config = write_config(tmp_path, crm, vk)
    Daemon(config).kill()
    with Daemon(config) as second:
        assert wait_for(lambda: second.url is not None)
        assert second.terminate() == 0
