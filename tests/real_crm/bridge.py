"""The bridge daemon under test against the real vtiger, with the project's VK, X and Facebook sandboxes,
as a real process on an ephemeral webhook port (tests/daemon/helpers.Daemon), and the plugin pointed at it."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.facebook import FacebookSandbox
from sandbox.vk import VkSandbox
from sandbox.x import XSandbox
from tests.daemon.helpers import SECRET, Daemon, wait_for

from .plugin import Plugin
from .realenv import REPO, RealVtiger


@dataclass
class Networks:
    vk: VkSandbox
    x: XSandbox
    fb: FacebookSandbox


VK_IMPORTS = "{interval_minutes: 60}"  # the start-up import only: a test that wants the schedule says so


def write_config(
    path: Path, real: RealVtiger, nets: Networks, *, extra: str = "", vk_imports: str = VK_IMPORTS
) -> Path:
    """Every network enabled; on SalesPlatform Facebook has no URL field, which the bridge reports itself.
    `vk_imports`: the VK import settings, e.g. "{interval_minutes: 0.05, start: all}" for a 3 s schedule."""
    x, vk, fb = nets.x, nets.vk, nets.fb
    path.write_text(
        f"""version: 1
vtiger: {{url: "{real.url}", username: "{real.user}", access_key: "{real.access_key}",
          timezone: "{real.timezone}"}}
networks:
  vk: {{enabled: true, token: "{vk.community_token}", group_id: {vk.group_id}, api_url: "{vk.url}",
        rate_limit: 100, imports: {vk_imports}}}
  x: {{enabled: true, consumer_key: "{x.consumer_key}", consumer_secret: "{x.consumer_secret}",
       access_token: "{x.access_token}", access_token_secret: "{x.access_token_secret}", api_url: "{x.url}",
       rate_limit: 100, imports: {{interval_minutes: 60}}}}
  facebook: {{enabled: true, page_id: "{fb.page_id}", page_token: "{fb.page_token}", api_url: "{fb.url}",
              imports: {{interval_minutes: 60}}}}
webhook: {{bind: 127.0.0.1, port: 0, secret: "{SECRET}"}}
state: {{path: "{path.parent / "state.sqlite3"}"}}
jobs: {{outbox_interval_seconds: 1, shutdown_grace_seconds: 10}}
{extra}""",
        encoding="utf-8",
    )
    return path


class Bridge:
    """`run_bridge.py -c CONFIG run` against the real CRM; the plugin posts to it while it runs."""

    def __init__(
        self,
        real: RealVtiger,
        nets: Networks,
        workdir: Path,
        plugin: Plugin | None = None,
        *,
        extra: str = "",
        plugin_settings: dict[str, str] | None = None,
        vk_imports: str = VK_IMPORTS,
    ) -> None:
        self.real = real
        self.nets = nets
        self.workdir = workdir
        self.plugin = plugin
        self.plugin_settings = plugin_settings or {}
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = write_config(workdir / "config.yaml", real, nets, extra=extra, vk_imports=vk_imports)
        self.state = workdir / "state.sqlite3"
        self.daemon: Daemon | None = None

    @property
    def url(self) -> str:
        assert self.daemon is not None and self.daemon.url is not None, "the bridge is not running"
        return self.daemon.url

    def start(self) -> Bridge:
        self.daemon = Daemon(self.config)
        if self.plugin is not None:
            self.plugin.configure(self.url, SECRET, self.workdir / "plugin", **self.plugin_settings)
        return self

    def stop(self) -> int:
        if self.daemon is None:
            return 0
        code = self.daemon.terminate()
        return code

    def lose_state(self) -> None:
        """The state file is gone (deleted, or a new disk without the backup): stop the daemon first."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.state}{suffix}").unlink(missing_ok=True)

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of the state file (read-only; the daemon keeps writing)."""
        conn = sqlite3.connect(f"file:{self.state}?mode=ro", uri=True, timeout=10)
        conn.row_factory = sqlite3.Row
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def events(self) -> list[dict[str, Any]]:
        """The webhook events the bridge accepted, oldest first, as the plugin posted them."""
        rows = self.rows("SELECT payload FROM webhook_event ORDER BY received_at")
        return [json.loads(r["payload"]) for r in rows]

    def settled(self) -> bool:
        """Every accepted event carried out (or closed with an error) and every send finished."""
        if not self.state.exists():
            return False
        open_events = int(self.rows("SELECT count(*) AS n FROM webhook_event WHERE done_at IS NULL")[0]["n"])
        open_sends = int(self.rows("SELECT count(*) AS n FROM outbox WHERE done_at IS NULL")[0]["n"])
        return open_events == 0 and open_sends == 0

    def event_errors(self) -> list[str]:
        return [r["error"] for r in self.rows("SELECT error FROM webhook_event WHERE error IS NOT NULL")]

    @property
    def log(self) -> str:
        return self.daemon.log if self.daemon is not None else ""

    def accepted(self, event: str | None = None, record: str | None = None) -> list[str]:
        """The webhook's "accepted" log lines: `webhook: accepted <event> <module> <id> as <event_id>`."""
        found = re.findall(r"webhook: accepted (\S+) (\S+) (\S+) as (\S+)", self.log)
        return [
            f"{e} {m} {i} {eid}"
            for e, m, i, eid in found
            if (event is None or e == event) and (record is None or i == record)
        ]

    def wait_accepted(self, event: str | None = None, record: str | None = None, timeout: float = 30) -> bool:
        return wait_for(lambda: bool(self.accepted(event, record)), timeout=timeout)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A one-shot command (`check`, `import-profile 12x5`, ...) with the same configuration."""
        return subprocess.run(
            [sys.executable, "run_bridge.py", "-c", str(self.config), *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
