"""The README's install steps, run as written in an empty directory tree, and the command line's manners.

What needs root or a real system (`apt-get`, `useradd`, file owners, `runuser`, `systemctl`) is replaced
by a stand-in on PATH that records its call; paths under /opt, /etc and /var/lib are moved under a temporary
directory; `git clone` copies this checkout. Everything else runs for real, including `pip install .` (not
editable) into a fresh virtualenv and the installed `vtiger-social-bridge` checking a configuration.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bridge.cli.main import main
from sandbox.vk import VkSandbox
from sandbox.vtiger import VtigerSandbox
from tests.daemon.helpers import write_config

ROOT = Path(__file__).resolve().parents[2]
MOVED = ("/opt/", "/etc/", "/var/lib/")

STAND_INS = {
    # name: body after the line that records the call
    "apt-get": "exit 0",
    "useradd": "exit 0",
    "systemctl": "exit 0",
    "runuser": 'while [ "$1" != "--" ]; do shift; done; shift; exec "$@"',
    "install": "args=(); while [ $# -gt 0 ]; do\n"
    'case "$1" in -o|-g) shift 2;; *) args+=("$1"); shift;; esac; done\n'
    'exec /usr/bin/install "${args[@]}"',
    "git": 'if [ "$1" = clone ]; then mkdir -p "$3" && cd "$REPO" && '
    "git ls-files -z --cached --others --exclude-standard |\n"
    'xargs -0 cp -a --parents -t "$3"; exit; fi\n'
    'exec /usr/bin/git "$@"',
}


def readme_install_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Install\n", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


@pytest.mark.slow
def test_the_readme_install_steps_work_as_written(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is needed to list the checkout's files")
    fs, bin_dir = tmp_path / "fs", tmp_path / "bin"
    for folder in ("etc/systemd/system", "var/lib", "opt"):  # what a fresh Debian already has
        (fs / folder).mkdir(parents=True)
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    for name, body in STAND_INS.items():
        shim = bin_dir / name
        shim.write_text(f'#!/bin/bash\necho "{name} $*" >> "$CALLS"\n{body}\n')
        shim.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)  # the interpreter running the tests, 3.11+

    with VtigerSandbox() as crm, VkSandbox() as vk:
        # The administrator's edit of the example file: here, a configuration for the sandboxes.
        edited = write_config(tmp_path, crm, vk)
        # The state path is moved under the temporary tree like the script's own paths: the test must never
        # touch the real /var/lib (other checkouts' runs would meet its state file there).
        edited.write_text(
            edited.read_text().replace(
                str(tmp_path / "state.sqlite3"), f"{fs}/var/lib/vtiger-social-bridge/state.sqlite3"
            )
        )
        script = readme_install_block().replace("<this repository>", "https://git.example.invalid/vsb.git")
        script = re.sub(
            r"^# now edit .*$",
            f"cp {edited} /etc/vtiger-social-bridge/config.yaml",
            script,
            flags=re.MULTILINE,
        )
        for prefix in MOVED:
            script = script.replace(prefix, f"{fs}{prefix}")
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "CALLS": str(calls),
            "REPO": str(ROOT),
        }
        env.pop("VIRTUAL_ENV", None)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"vtiger login\s+ok", done.stdout), done.stdout
    recorded = calls.read_text()
    user = "useradd --system --home-dir /opt/vtiger-social-bridge --shell /usr/sbin/nologin vsb"
    assert user in recorded.replace(str(fs), "")
    assert "systemctl enable --now vtiger-social-bridge" in recorded

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(fs / "etc" / "vtiger-social-bridge") == 0o750
    assert mode(fs / "var" / "lib" / "vtiger-social-bridge") == 0o700
    assert mode(fs / "etc" / "vtiger-social-bridge" / "config.yaml") == 0o640
    assert "install -d -o vsb -g vsb -m 0700" in recorded  # the unit's user owns the state folder
    # The unit the README installs names what the steps created.
    unit = (fs / "etc" / "systemd" / "system" / "vtiger-social-bridge.service").read_text()
    assert "User=vsb" in unit
    exec_start = re.search(r"^ExecStart=(\S+) -c (\S+) run$", unit, re.MULTILINE)
    assert exec_start is not None
    assert Path(f"{fs}{exec_start.group(1)}").is_file()
    assert Path(f"{fs}{exec_start.group(2)}").is_file()
    # The installed (not editable) command finds the plugin and the example wherever it is started.
    installed = fs / "opt" / "vtiger-social-bridge" / ".venv" / "bin" / "vtiger-social-bridge"
    shown = subprocess.run(
        [str(installed), "plugin"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    plugin = Path(re.search(r"plugin is in (\S+)", shown.stdout).group(1))  # type: ignore[union-attr]
    example = Path(re.search(r"configuration of the bridge itself: (\S+)", shown.stdout).group(1))  # type: ignore[union-attr]
    assert "site-packages" in str(plugin) and (plugin / "install.php").is_file()
    assert (plugin / "languages" / "ru_ru.php").is_file() and (plugin / "logs" / ".htaccess").is_file()
    assert example.is_file() and "access_key: CHANGE_ME" in example.read_text()
    # ... and builds the same module zip from the installed files as from a checkout.
    built = subprocess.run(
        [str(installed), "module-zip", "-o", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert built.returncode == 0, built.stderr
    [package] = list(tmp_path.glob("SocialBridge-*.zip"))
    from bridge.cli.module_zip import entries

    with zipfile.ZipFile(package) as archive:
        assert sorted(archive.namelist()) == sorted(entries())
    usage = subprocess.run([str(installed), "--help"], capture_output=True, text=True, timeout=60)
    assert usage.stdout.startswith("usage: vtiger-social-bridge ")
    version = subprocess.run([str(installed), "--version"], capture_output=True, text=True, timeout=60)
    assert re.fullmatch(r"vtiger-social-bridge \d+\.\d+\.\d+\n", version.stdout)


def test_the_config_option_may_follow_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with VtigerSandbox() as crm, VkSandbox() as vk:
        path = str(write_config(tmp_path, crm, vk))
        assert main(["check", "-c", path]) == 0
    assert path in capsys.readouterr().out


def test_an_unknown_vsb_variable_is_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("VSB_VTIGER_ACESS_KEY", "typo")
    # The real-CRM suite's variables are a developer's, not the bridge's: no warning for them.
    monkeypatch.setenv("VSB_REAL_VTIGER_URL", "http://127.0.0.1:17072")
    with VtigerSandbox() as crm, VkSandbox() as vk:
        assert main(["-c", str(write_config(tmp_path, crm, vk)), "check"]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        "VSB_VTIGER_ACESS_KEY is not a setting" in w and "VSB_VTIGER_ACCESS_KEY" in w for w in warnings
    )
    assert not any("typo" in w for w in warnings)
    assert not any("VSB_REAL_VTIGER_URL" in w for w in warnings)


def test_the_usage_line_names_the_command_that_was_run() -> None:
    script = Path(sys.executable).parent / "vtiger-social-bridge"
    if not script.exists():
        pytest.skip("the console script is not installed in this environment")
    done = subprocess.run([str(script), "frobnicate"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("usage: vtiger-social-bridge ")
    done = subprocess.run(
        [sys.executable, "run_bridge.py", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("run_bridge.py ")


def test_the_russian_guide_gives_the_same_install_commands() -> None:
    """docs/ru/install.md must not drift from the README's install block (which the test above runs)."""
    guide = (ROOT / "docs" / "ru" / "install.md").read_text(encoding="utf-8")
    for line in readme_install_block().splitlines():
        if line.startswith("#"):
            continue
        assert line.replace("<this repository>", "<адрес репозитория>") in guide, line
    for page in ("README.md", "install.md", "configuration.md", "workflows.md", "tokens.md"):
        assert (ROOT / "docs" / "ru" / page).is_file()
    workflows = (ROOT / "docs" / "ru" / "workflows.md").read_text(encoding="utf-8")
    labels = (ROOT / "vtiger_plugin" / "languages" / "ru_ru.php").read_text(encoding="utf-8")
    for label in re.findall(r"=> '([^']+)'", labels):
        assert label in workflows, label  # the guide names the functions as the CRM shows them
    assert "Vkontakte URL" in workflows
