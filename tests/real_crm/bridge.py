"""The bridge daemon under test against the real vtiger, with the project's VK, X and Facebook sandboxes,
as a real process on an ephemeral webhook port (tests/daemon/helpers.Daemon), and the plugin pointed at it."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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


def write_config(path: Path, real: RealVtiger, nets: Networks, *, extra: str = "") -> Path:
    """Every network enabled; on SalesPlatform Facebook has no URL field, which the bridge reports itself."""
    x, vk, fb = nets.x, nets.vk, nets.fb
    path.write_text(
        f"""version: 1
vtiger: {{url: "{real.url}", username: "{real.user}", access_key: "{real.access_key}",
          timezone: "{real.timezone}"}}
networks:
  vk: {{enabled: true, token: "{vk.community_token}", group_id: {vk.group_id}, api_url: "{vk.url}",
        rate_limit: 100, imports: {{interval_minutes: 60}}}}
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

    def __init__(self, real: RealVtiger, nets: Networks, workdir: Path, plugin: Plugin | None = None,
                 *, extra: str = "", plugin_settings: dict[str, str] | None = None) -> None:
        self.real = real
        self.nets = nets
        self.workdir = workdir
        self.plugin = plugin
        self.plugin_settings = plugin_settings or {}
        workdir.mkdir(parents=True, exist_ok=True)
        self.config = write_config(workdir / "config.yaml", real, nets, extra=extra)
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

    @property
    def log(self) -> str:
        return self.daemon.log if self.daemon is not None else ""

    def accepted(self, event: str | None = None, record: str | None = None) -> list[str]:
        """The webhook's "accepted" log lines: `webhook: accepted <event> <module> <id> as <event_id>`."""
        found = re.findall(r"webhook: accepted (\S+) (\S+) (\S+) as (\S+)", self.log)
        return [f"{e} {m} {i} {eid}" for e, m, i, eid in found
                if (event is None or e == event) and (record is None or i == record)]

    def wait_accepted(self, event: str | None = None, record: str | None = None, timeout: float = 30) -> bool:
        return wait_for(lambda: bool(self.accepted(event, record)), timeout=timeout)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """A one-shot command (`check`, `import-profile 12x5`, ...) with the same configuration."""
        return subprocess.run([sys.executable, "run_bridge.py", "-c", str(self.config), *args], cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
