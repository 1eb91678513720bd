"""The project's PHP plugin inside the real vtiger, installed the shell way vtiger_plugin/README.md tells an
administrator: copied into the root as modules/SocialBridge/, configured, registered with install.php
(--create-schema: on a plain vtiger it creates the messages module and URL fields the bridge needs, as
the module imported through Module Manager does; on SalesPlatform nothing). tests/real_crm/test_module.py
covers the Module Manager way."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .realenv import REPO, RealEnvError, RealVtiger

SOURCE = REPO / "vtiger_plugin"


def php_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


class Plugin:
    def __init__(self, real: RealVtiger) -> None:
        self.real = real
        self.folder = real.root / "modules" / "SocialBridge"
        self.config: dict[str, Any] = {}

    def install(self) -> None:
        """Copy the plugin (a fresh copy: files of an older one are removed) and register its functions."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        shutil.copytree(
            SOURCE, self.folder, ignore=shutil.ignore_patterns("socialbridge.config.php", "*.log", "*.spool*")
        )
        done = self.real.php_run("modules/SocialBridge/install.php", ["--create-schema"])
        if done.returncode != 0 or done.stdout.count("registered") != 12:  # 4 functions x 3 modules
            raise RealEnvError(f"plugin install.php failed ({done.returncode}): {done.stderr.strip()[-500:]}")

    def uninstall(self) -> None:
        if self.folder.exists():
            self.real.php_run("modules/SocialBridge/install.php", ["--uninstall"])
            shutil.rmtree(self.folder)

    def configure(self, bridge_url: str, secret: str, state_dir: Path, **extra: Any) -> None:
        """Point the plugin at a bridge. Its log and spool go to `state_dir` (outside the web root, and one
        per bridge, so events spooled for an earlier test's bridge never reach a later one)."""
        state_dir.mkdir(parents=True, exist_ok=True)
        self.config = {
            "bridge_url": bridge_url,
            "secret": secret,
            "log_file": str(state_dir / "socialbridge.log"),
            "spool_file": str(state_dir / "socialbridge.spool"),
            "timeout_ms": 2000,
            **extra,
        }
        body = "".join(f"    {php_literal(k)} => {php_literal(v)},\n" for k, v in self.config.items())
        target = self.folder / "socialbridge.config.php"
        tmp = target.with_suffix(".tmp")
        text = f"<?php\n// Written by tests/real_crm/plugin.py\nreturn array(\n{body});\n"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)

    @property
    def log(self) -> str:
        path = Path(self.config.get("log_file", self.folder / "logs" / "socialbridge.log"))
        return path.read_text(encoding="utf-8") if path.exists() else ""
