"""Where the module keeps its log and spool (vtiger_plugin/lib/DataDir.php): outside the web root, and a
check, over real HTTP (`php -S`, which like nginx ignores .htaccess), that warns when it is served."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR_PHP = ROOT / "vtiger_plugin" / "lib" / "DataDir.php"
PHP = shutil.which("php")
if PHP is None:
    if os.environ.get("CI"):
        raise RuntimeError("php-cli is required in CI (apt-get install -y php-cli php-curl)")
    pytest.skip("php is not installed", allow_module_level=True)


def php(code: str, *args: str) -> Any:
    script = f"require '{DATA_DIR_PHP}'; {code}"
    done = subprocess.run([PHP or "php", "-r", script, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A web root served by `php -S` (a free port found first: php -S cannot bind port 0)."""
    root = tmp_path / "www" / "vtigercrm"
    (root / "modules" / "SocialBridge" / "logs").mkdir(parents=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [PHP or "php", "-S", f"127.0.0.1:{port}", "-t", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield root, url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_folder_inside_the_web_root_is_found_served(site: tuple[Path, str]) -> None:
    root, url = site
    inside = root / "modules" / "SocialBridge" / "logs"
    found = php(
        "echo json_encode(SocialBridge_DataDir::exposure($argv[1], $argv[2], $argv[3]));",
        str(inside),
        str(root),
        url,
    )
    assert found["state"] == "reachable" and found["url"] == f"{url}modules/SocialBridge/logs/"
    assert list(inside.iterdir()) == []  # the probe file is removed


def test_a_folder_outside_the_web_root_is_private(site: tuple[Path, str], tmp_path: Path) -> None:
    root, url = site
    outside = tmp_path / "data"
    outside.mkdir()
    found = php(
        "echo json_encode(SocialBridge_DataDir::exposure($argv[1], $argv[2], $argv[3]));",
        str(outside),
        str(root),
        url,
    )
    assert found["state"] == "private"


def test_the_installer_chooses_a_folder_outside_the_root_and_names_it_per_crm(tmp_path: Path) -> None:
    root = tmp_path / "www" / "vtigercrm"
    root.mkdir(parents=True)
    chosen = Path(php("echo json_encode(SocialBridge_DataDir::choose($argv[1], ''));", str(root)))
    assert chosen.parent == tmp_path / "www" / "vtiger-socialbridge" and chosen.is_dir()
    assert chosen.name.startswith("vtigercrm-")
    other = tmp_path / "www2" / "vtigercrm"
    other.mkdir(parents=True)
    assert php("echo json_encode(SocialBridge_DataDir::choose($argv[1], ''));", str(other)) != str(chosen)


def test_when_the_folder_above_is_the_document_root_it_falls_back_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "html" / "vtigercrm"  # vtiger at /var/www/html/vtigercrm, served from /var/www/html
    root.mkdir(parents=True)
    chosen = php(
        "echo json_encode(SocialBridge_DataDir::choose($argv[1], $argv[2]));",
        str(root),
        str(tmp_path / "html"),
    )
    assert chosen == str(root / "modules" / "SocialBridge" / "logs")  # the settings page then checks it
